# ST-GCN as re-implemented by PYSKL / MMAction2 1.x (PysklSTGCN: per-block adjacency with
# learnable 'importance' PA, unit_tcn 9x1, 'VC' data BN, 10 stages 64-64-64-64-128-128-128-256-
# 256-256), NTU RGB+D 60 X-Sub joint stream. PYSKL's 'nturgb+d' graph (hand tip and thumb both
# linked to the hand) is the zoo layout 'ntu25_pyskl'; the data pipeline keeps 'ntu25'.
# Weights: zoo://stgcn_ntu60_xsub_joint_mmaction2 or zoo://stgcn_ntu60_xsub_joint_pyskl,
# converter convert_stgcn_pyskl. The test section (configs/_base_/datasets/ntu_xsub_3d_test.py)
# reads PYSKL's ntu60_3danno.pkl (PoseDataset, split xsub_val) with the 10-clip, 100-frame
# protocol; set data_root / ann_file.
_base_ = ["../_base_/default_runtime.py", "../_base_/datasets/ntu_xsub_3d_test.py"]

model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="PysklSTGCN", graph_cfg=dict(layout="ntu25_pyskl", mode="stgcn_spatial"),
                  in_channels=3),
    cls_head=dict(type="GCNHead", in_channels=256, num_classes=60),
)
