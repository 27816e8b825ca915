# ST-GCN for MSR Action3D (Kinect-20 graph, 20 actions, joint stream), the model of
# configs/skeleton/stgcn_msr3d_xsub.py and its validation-protocol twin.
model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="STGCN", graph_cfg=dict(layout="kinect20", mode="stgcn_spatial"),
                  base_channels=32, dropout=0.2),
    cls_head=dict(type="GCNHead", in_channels=128, num_classes=20, dropout=0.3),
)
