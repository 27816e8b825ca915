# Split MSR Action3D, GEM: 40-sample episodic memory (8 random samples per task); a conflicting
# step is projected by GEM's dual QP (scipy NNLS); margin 0.5 and eps 1e-3 as the official
# code's defaults (margin 0.5 also won on the split-digits validation fold).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="GEM", memory_size=40, margin=0.5, eps=1e-3))
