# Split digits, joint training on all classes seen so far (upper bound).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="Joint"))
