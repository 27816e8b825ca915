# Baseline: Dice + cross-entropy (MONAI DiceCELoss) on generated brick walls.
_base_ = ["./_base_walls_unet.py"]
model = dict(loss=dict(type="DiceCELoss"))
