# CTR-GCN as re-implemented by PYSKL (as ctrgcn_ntu60_xsub_joint.py, variant='pyskl', PYSKL's
# 'nturgb+d' graph = zoo layout 'ntu25_pyskl'), NTU RGB+D 120 X-Sub, 3-D joints. Weights:
# zoo://ctrgcn_ntu120_xsub_joint_pyskl, converter convert_ctrgcn_pyskl. The test section reads
# PYSKL's ntu120_3danno.pkl (PoseDataset, split xsub_val) with the 10-clip, 100-frame protocol; set
# data_root / ann_file.
_base_ = ["ctrgcn_ntu60_xsub_joint.py"]

model = dict(cls_head=dict(num_classes=120))
ann_file = "ntu120_3danno.pkl"
test_dataloader = dict(dataset=dict(ann_file=ann_file))
