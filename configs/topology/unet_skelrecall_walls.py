# Skeleton Recall (Kirchhoff et al., ECCV 2024): Dice + CE + 1 x Skeleton Recall on the tubed
# skeleton made by the TubedSkeleton transform of the training pipeline.
_base_ = ["./_base_walls_unet.py"]
model = dict(loss=dict(type="DiceCESkeletonRecallLoss", srec_weight=1.0))
