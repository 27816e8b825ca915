# Split MSR Action3D, WA: 40-exemplar herding memory, CE + KD (T = 2), weight aligning of the
# new actions' rows after each task.
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="WA", memory_size=40, temperature=2.0))
