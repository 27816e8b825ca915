# CTR-GCN on real MSR Action3D skeletons, cross-subject (odd subjects train, even test).
# Same data pipeline and schedule family as stgcn_msr3d_xsub.py; the network is the official
# CTR-GCN (10 blocks, I/inward/outward graph) narrowed to base width 16 (16-32-64 channels)
# and trained for 25 epochs so that it fits in a few minutes on an idle 2-core CPU.
# The data lives outside the repository: set data_root (default: ../shared/data/msr_action3d).
_base_ = ["../_base_/default_runtime.py"]

layout = "kinect20"
clip_len = 32
data_root = "../shared/data/msr_action3d"
stream = ["j"]  # 'j', 'b', 'jm' or 'bm'

model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="CTRGCN", graph_cfg=dict(layout=layout, mode="spatial"),
                  base_channels=16, num_person=1),
    cls_head=dict(type="GCNHead", in_channels=64, num_classes=20, dropout=0.3),
)

dataset_type = "MSRAction3D"
train_pipeline = [
    dict(type="PreNormalize3D", layout=layout),
    dict(type="GenSkeFeat", layout=layout, feats=stream),
    dict(type="RandomRot", theta=0.3),
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

max_epochs = 25
# validate only at the end: the 10-clip test pass costs about three training epochs
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.05, momentum=0.9, weight_decay=5e-4,
                                    nesterov=True))
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type="CosineAnnealingLR", T_max=max_epochs - 5, by_epoch=True, begin=5,
         end=max_epochs, eta_min=1e-4),
]
default_hooks = dict(checkpoint=dict(type="CheckpointHook", interval=5, max_keep_ckpts=2))
