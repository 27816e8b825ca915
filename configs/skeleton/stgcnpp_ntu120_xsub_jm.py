# STGCN++, NTU-120 X-Sub 3-D, joint-motion stream: stgcnpp_ntu120_xsub_joint.py with GenSkeFeat
# feats=["jm"].
_base_ = ["stgcnpp_ntu120_xsub_joint.py"]

layout = "ntu25"
test_pipeline = [
    dict(type="PreNormalize3D", layout=layout),
    dict(type="GenSkeFeat", layout=layout, feats=["jm"]),
    dict(type="UniformSampleFrames", clip_len=100, num_clips=10, test_mode=True),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=2),
    dict(type="PackSkeletonInputs"),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
