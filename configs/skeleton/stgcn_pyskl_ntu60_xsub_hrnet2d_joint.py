# ST-GCN as re-implemented by MMAction2 1.x / PYSKL (PysklSTGCN, defaults as in
# stgcn_pyskl_ntu60_xsub_joint.py), NTU RGB+D 60 X-Sub with HRNet 2-D keypoints: COCO-17 graph,
# 3 input channels (x, y, keypoint score), 2 persons. Model-only (the zoo has no PreNormalize2D
# yet); weights: zoo://stgcn_ntu60_xsub_hrnet2d_joint_mmaction2, converter convert_stgcn_pyskl.
_base_ = ["../_base_/default_runtime.py"]

model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="PysklSTGCN", graph_cfg=dict(layout="coco17", mode="stgcn_spatial"),
                  in_channels=3),
    cls_head=dict(type="GCNHead", in_channels=256, num_classes=60),
)
