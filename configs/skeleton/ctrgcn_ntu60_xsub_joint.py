# CTR-GCN as re-implemented by PYSKL / MMAction2 (projects/ctrgcn), NTU RGB+D 60 X-Sub joint
# stream: official sizes (10 blocks, base 64, I/inward/outward graph, 2 persons),
# variant='pyskl' (transposed refinement aggregation, ReLU after the multi-scale temporal conv;
# see zoo/models/skeleton/ctrgcn.py). PYSKL's 'nturgb+d' graph (hand tip and thumb both linked
# to the hand) is the zoo layout 'ntu25_pyskl'; the data pipeline keeps 'ntu25'. Weights:
# zoo://ctrgcn_ntu60_xsub_joint (MMAction2) or zoo://ctrgcn_ntu60_xsub_joint_pyskl, converter
# convert_ctrgcn_pyskl.
# The test section (configs/_base_/datasets/ntu_xsub_3d_test.py) reads PYSKL's ntu60_3danno.pkl
# (PoseDataset, split xsub_val) with PYSKL's 10-clip, 100-frame protocol; set data_root / ann_file
# to where the pickle is.
_base_ = ["../_base_/default_runtime.py", "../_base_/datasets/ntu_xsub_3d_test.py"]

model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="CTRGCN", graph_cfg=dict(layout="ntu25_pyskl", mode="spatial"),
                  in_channels=3, num_person=2, variant="pyskl"),
    cls_head=dict(type="GCNHead", in_channels=256, num_classes=60),
)
