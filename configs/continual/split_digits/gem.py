# Split digits, GEM: 200-sample episodic memory (40 random samples stored per task); each
# step's gradient is projected by GEM's dual QP (scipy NNLS) when it conflicts with a past
# task's memory gradient; margin 0.5 and eps 1e-3 as the official code's defaults.
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="GEM", memory_size=200, margin=0.5, eps=1e-3))
