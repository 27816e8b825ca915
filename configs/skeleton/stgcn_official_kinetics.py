# ST-GCN as in the authors' yysijie/st-gcn (AAAI 2018) Kinetics-Skeleton model: OpenPose-18
# joints with (x, y, score) channels, spatial partition, learnable edge importance, dropout
# 0.5, 400 classes (config/st_gcn/kinetics-skeleton/train.yaml). Model-only (the Kinetics
# skeleton files are not read by the zoo); weights: zoo://stgcn_kinetics_joint_official.
_base_ = ["../_base_/default_runtime.py"]

model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="STGCN", graph_cfg=dict(layout="openpose18", mode="stgcn_spatial"),
                  in_channels=3, dropout=0.5,
                  # the same dropout with a cheaper mask draw, activations stored channels
                  # last: the same function, faster on the CPU (docs/speed.md)
                  fast_dropout=True, channels_last=True),
    cls_head=dict(type="GCNHead", in_channels=256, num_classes=400),
)
