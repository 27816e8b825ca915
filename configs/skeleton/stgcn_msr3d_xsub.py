# ST-GCN on real MSR Action3D skeletons, cross-subject (odd subjects train, even test).
# Data and pipeline: ../_base_/datasets/msr3d_xsub.py (set data_root there or with
# --cfg-options); schedule: ../_base_/schedules/sgd_cosine_80e.py.
# Other input streams: stgcn_msr3d_xsub_{b,jm,bm}.py.
_base_ = ["../_base_/default_runtime.py", "../_base_/datasets/msr3d_xsub.py",
          "../_base_/schedules/sgd_cosine_80e.py"]

model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="STGCN", graph_cfg=dict(layout="kinect20", mode="stgcn_spatial"),
                  base_channels=32, dropout=0.2),
    cls_head=dict(type="GCNHead", in_channels=128, num_classes=20, dropout=0.3),
)
default_hooks = dict(checkpoint=dict(type="CheckpointHook", interval=10, max_keep_ckpts=2))
