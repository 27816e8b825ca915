# Split MSR Action3D, A-GEM with a 40-sample episodic memory (8 samples stored per task), the
# memory size of ./er.py.
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="AGEM", memory_size=40))
