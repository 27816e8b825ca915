# Split digits, A-GEM with a 200-sample episodic memory (40 samples stored per task).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="AGEM", memory_size=200))
