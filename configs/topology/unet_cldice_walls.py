# clDice (Shit et al., CVPR 2021): CE + 0.5 Dice + 0.5 soft clDice (foreground channel).
_base_ = ["./_base_walls_unet.py"]
model = dict(loss=dict(type="DiceClDiceLoss", iters=3, alpha=0.5, ce_weight=1.0))
