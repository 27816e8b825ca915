# NTU RGB+D 60 / 120 (Shahroudy et al., CVPR 2016; Liu et al., TPAMI 2019), cross-subject,
# 3-D joints: the test section of PYSKL's protocol (Duan et al., ACM MM 2022) on its
# ntu60_3danno.pkl / ntu120_3danno.pkl (PoseDataset, split xsub_val): 10 clips of 100 frames,
# 2 persons, joint stream. The data lives outside the repository: set data_root / ann_file.
# An NTU-120 config sets ann_file = "ntu120_3danno.pkl" and
# test_dataloader = dict(dataset=dict(ann_file=ann_file)). A bone / motion stream rewrites
# _base_.test_pipeline with GenSkeFeat feats=["b"] (or "jm", "bm") and sets
# test_dataloader = dict(dataset=dict(pipeline=test_pipeline)) (see ctrgcn_ntu60_xsub_bone.py).
layout = "ntu25"
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
