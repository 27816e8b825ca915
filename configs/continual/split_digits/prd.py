# Split digits, prototype-sample relation distillation (replay-free), at the protocol's 5 epochs
# per task (25 Adam steps) with the official parser's default loss weights (distill_coef 1,
# prototypes_coef 1, distill_temp 2, SupCon temperature 0.2 scaled by 0.2 / 0.07 as in the
# official SupConLoss) and the official teacher (batch-statistics batch norm; see PRD's
# docstring). The prototypes (rows of cls_head.fc) get 10x the learning rate: at Adam 1e-3
# they cannot follow the features in 25 steps (with lr_mult 1, task 1 stays at chance, seed 0).
# This is the zoo's choice, not the official one: the official code resets the prototypes'
# learning rate to the model's at every epoch. PRD is built for long training; see
# ./prd_official.py for the official regime (60 epochs per task).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="PRD"))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={"cls_head.fc": dict(lr_mult=10.0)}))
