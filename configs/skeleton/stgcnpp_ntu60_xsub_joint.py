# STGCN++ (PYSKL, Duan et al. 2022; MMAction2 configs/skeleton/stgcnpp): PysklSTGCN with
# gcn_adaptive='init', gcn_with_res=True, tcn_type='mstcn' on the I/inward/outward graph of PYSKL's
# 'nturgb+d' layout (zoo 'ntu25_pyskl'), NTU RGB+D 60 X-Sub, 3-D joints. Weights:
# zoo://stgcnpp_ntu60_xsub_joint_mmaction2, converter convert_stgcn_pyskl. The test section
# (configs/_base_/datasets/ntu_xsub_3d_test.py) reads PYSKL's ntu60_3danno.pkl (PoseDataset, split
# xsub_val) with the 10-clip, 100-frame protocol; set data_root / ann_file.
_base_ = ["../_base_/default_runtime.py", "../_base_/datasets/ntu_xsub_3d_test.py"]

model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="PysklSTGCN", graph_cfg=dict(layout="ntu25_pyskl", mode="spatial"),
                  in_channels=3, gcn_adaptive="init", gcn_with_res=True, tcn_type="mstcn"),
    cls_head=dict(type="GCNHead", in_channels=256, num_classes=60),
)
