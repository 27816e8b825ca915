# Split digits, EWC with a diagonal (empirical) Fisher. lambda_ = 1e4 chosen on the
# validation protocol of ./ewc_val.py (held-out training fold; the test split not read) from
# {1e2, 1e3, 1e4, 1e5} over 3 seeds: benchmarks/results/continual_digits_ewc_val.md.
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="EWC", lambda_=1e4))
