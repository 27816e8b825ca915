# Split digits, EWC with the rank-1 (leading eigenvector) Fisher. lambda_ from {10, 1e2, 1e4}
# on this split (see benchmarks/results/continual_digits.md).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="EWC", lambda_=100.0, fisher_type="rank1"))
