# Split MSR Action3D, EWC with the rank-1 Fisher. lambda_ >= 10 diverges with SGD at 0.05;
# 1 is the largest stable value tried (see benchmarks/results/continual_msr3d.md).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="EWC", lambda_=1.0, fisher_type="rank1"))
