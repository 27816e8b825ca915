# CTR-GCN as re-implemented by PYSKL (as ctrgcn_ntu60_xsub_joint.py, variant='pyskl', PYSKL's
# 'nturgb+d' graph = zoo layout 'ntu25_pyskl'), NTU RGB+D 120 X-Sub, 3-D joints. Weights:
# zoo://ctrgcn_ntu120_xsub_joint_pyskl, converter convert_ctrgcn_pyskl. The test section reads
# PYSKL's ntu120_3danno.pkl (PoseDataset, split xsub_val) with the 10-clip, 100-frame protocol; set
# data_root / ann_file.
_base_ = ["../_base_/default_runtime.py"]

layout = "ntu25"
model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="CTRGCN", graph_cfg=dict(layout="ntu25_pyskl", mode="spatial"),
                  in_channels=3, num_person=2, variant="pyskl"),
    cls_head=dict(type="GCNHead", in_channels=256, num_classes=120),
)

data_root = "data/nturgbd"
ann_file = "ntu120_3danno.pkl"
test_pipeline = [
    dict(type="PreNormalize3D", layout=layout),
    dict(type="GenSkeFeat", layout=layout, feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=100, num_clips=10, test_mode=True),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=2),
    dict(type="PackSkeletonInputs"),
]
test_dataloader = dict(
    batch_size=8, num_workers=0,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(type="PoseDataset", data_root=data_root, ann_file=ann_file, split="xsub_val",
                 layout=layout, pipeline=test_pipeline),
)
test_evaluator = dict(type="AccMetric")
test_cfg = dict(type="TestLoop")
