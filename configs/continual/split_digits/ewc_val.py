# EWC (diagonal Fisher) under the validation protocol of ./finetune_val.py: the file on which
# lambda_ is chosen for ./ewc.py. Sweep with
#   tools/sweep.py configs/continual/split_digits/ewc_val.py --seeds 0 1 2 \
#       --grid train_cfg.strategy.lambda_=1e2,1e3,1e4,1e5
# (results in benchmarks/results/continual_digits_ewc_val.md).
_base_ = ["./finetune_val.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="EWC", lambda_=1e4))
