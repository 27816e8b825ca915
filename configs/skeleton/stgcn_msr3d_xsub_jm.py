# ST-GCN on MSR Action3D cross-subject, one input stream; the rest as the joint config.
# Fuse the four streams: tools/test.py ... --dump STREAM.npz, then tools/ensemble.py (README).
_base_ = ["./stgcn_msr3d_xsub.py"]

layout = "kinect20"
clip_len = 32
stream = ["jm"]  # b: bone, jm: joint motion, bm: bone motion
train_pipeline = [
    dict(type="PreNormalize3D", layout=layout),
    dict(type="GenSkeFeat", layout=layout, feats=stream),
    dict(type="RandomRot", theta=0.1),
    dict(type="RandomScale", scale=0.1),
    dict(type="UniformSampleFrames", clip_len=clip_len),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=1),
    dict(type="PackSkeletonInputs"),
]
test_pipeline = [
    dict(type="PreNormalize3D", layout=layout),
    dict(type="GenSkeFeat", layout=layout, feats=stream),
    dict(type="UniformSampleFrames", clip_len=clip_len, num_clips=10, test_mode=True),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=1),
    dict(type="PackSkeletonInputs"),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
