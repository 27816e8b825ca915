# Split MSR Action3D, EWC with a diagonal (empirical) Fisher. With SGD at 0.05 the penalty
# diverges for lambda_ >= 100 (1e4, the split-digits value, diverges in task 2); 10 is the
# largest stable value tried (see benchmarks/results/continual_msr3d.md).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="EWC", lambda_=10.0))
