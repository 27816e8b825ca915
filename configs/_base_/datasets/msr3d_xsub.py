# MSR Action3D (Li, Zhang & Liu, CVPR Workshops 2010), cross-subject: odd subjects train, even
# subjects test; 20 actions, Kinect-20 skeletons, one person. Joint stream, 32-frame clips,
# light rotation/scale augmentation, 10 test clips per sequence.
# The data lives outside the repository: set data_root (default: ../shared/data/msr_action3d).
# A recipe that changes a step rewrites the pipeline from _base_.train_pipeline /
# _base_.test_pipeline (see configs/skeleton/stgcn_msr3d_xsub_b.py) and sets
# train_dataloader = dict(dataset=dict(pipeline=train_pipeline)) (same for val).
layout = "kinect20"
clip_len = 32
data_root = "../shared/data/msr_action3d"
stream = ["j"]  # 'j', 'b', 'jm' or 'bm'

dataset_type = "MSRAction3D"
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
train_dataloader = dict(
    batch_size=16, num_workers=0,
    sampler=dict(type="DefaultSampler", shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split="train", pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=16, num_workers=0,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split="test", pipeline=test_pipeline),
)
test_dataloader = val_dataloader
val_evaluator = dict(type="AccMetric")
test_evaluator = val_evaluator
