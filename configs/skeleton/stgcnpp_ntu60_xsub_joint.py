# STGCN++ (PYSKL, Duan et al. 2022; MMAction2 configs/skeleton/stgcnpp): PysklSTGCN with
# gcn_adaptive='init', gcn_with_res=True, tcn_type='mstcn' on the I/inward/outward graph of PYSKL's
# 'nturgb+d' layout (zoo 'ntu25_pyskl'), NTU RGB+D 60 X-Sub, 3-D joints. Weights:
# zoo://stgcnpp_ntu60_xsub_joint_mmaction2, converter convert_stgcn_pyskl. The test section reads
# PYSKL's ntu60_3danno.pkl (PoseDataset, split xsub_val) with the 10-clip, 100-frame protocol; set
# data_root / ann_file.
_base_ = ["../_base_/default_runtime.py"]

layout = "ntu25"
model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="PysklSTGCN", graph_cfg=dict(layout="ntu25_pyskl", mode="spatial"),
                  in_channels=3, gcn_adaptive="init", gcn_with_res=True, tcn_type="mstcn"),
    cls_head=dict(type="GCNHead", in_channels=256, num_classes=60),
)

data_root = "data/nturgbd"
ann_file = "ntu60_3danno.pkl"
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
