# Split digits, EWC with a diagonal (empirical) Fisher. lambda_ from {1e2, 1e4, 1e5} on this
# split (digits has no validation split; see benchmarks/results/continual_digits.md).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="EWC", lambda_=1e4))
