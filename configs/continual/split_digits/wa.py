# Split digits, WA: herding exemplar memory of 200 samples, CE + KD (T = 2), weight aligning
# of the new classes' rows after each task.
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="WA", memory_size=200, temperature=2.0))
