# CTR-GCN as in the authors' Uason-Chen/CTR-GCN (model/ctrgcn.py, config/nturgbd120-cross-
# subject/default.yaml): 10 blocks, base 64, NTU-25 I/inward/outward graph, 2 persons,
# 120 classes, variant='official'. Model-only; weights: zoo://ctrgcn_ntu120_xsub_joint_official
# (placed by hand), converter convert_ctrgcn_official. The official feeder resamples each
# sequence to 64 frames: input [N, 2, 64, 25, 3].
_base_ = ["../_base_/default_runtime.py"]

model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="CTRGCN", graph_cfg=dict(layout="ntu25", mode="spatial"),
                  in_channels=3, num_person=2, variant="official"),
    cls_head=dict(type="GCNHead", in_channels=256, num_classes=120),
)
