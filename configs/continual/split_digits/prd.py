# Split digits, prototype-sample relation distillation (replay-free). The prototypes (rows of
# cls_head.fc) get 10x the learning rate: with Adam at 1e-3 they cannot follow the features
# in the 25 steps of a task (the official code also gives them their own learning rate).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="PRD"))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={"cls_head.fc": dict(lr_mult=10.0)}))
