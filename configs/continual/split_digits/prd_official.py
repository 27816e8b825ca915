# Split digits, PRD in the regime of the official code (naderAsadi/Probing-Continual-Learning):
# - loss weights of the official README command: distill_coef 4, prototypes_coef 2,
#   distill_temp 1, SupCon temperature 0.1 (the class-incremental sweep
#   sweeps/hparam_search/repe.yaml also uses distill_temp 1 and coefficients of 4 and more);
# - 60 epochs per task, the official parser's default n_epochs (the README trains 100, plus
#   120 warm-up epochs on the first task; 60 keeps a run at ~2 CPU minutes here);
# - the prototypes train at the model's learning rate: the official code gives them their own
#   parameter group, but its adjust_learning_rate resets every group to --lr each epoch.
# The optimizer (Adam 1e-3, batch 64) stays that of the split-digits protocol. Nothing here was
# chosen on the test split. Compare with the other strategies at the same epochs per task:
# `--cfg-options train_cfg.epochs_per_task=60` on finetune.py, ewc.py, lwf.py.
_base_ = ["./prd.py"]
train_cfg = dict(
    epochs_per_task=60,
    strategy=dict(supcon_temperature=0.1, distill_temperature=1.0, distill_coef=4.0,
                  prototypes_coef=2.0))
optim_wrapper = dict(paramwise_cfg=dict(_delete_=True))
