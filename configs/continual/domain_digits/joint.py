# Rotated digits, joint training on the rotations so far (upper bound).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="Joint"))
