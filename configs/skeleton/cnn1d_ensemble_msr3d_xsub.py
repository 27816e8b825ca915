# Ensem-NN (Xu & Wang 2018): four residual 1-D CNN sub-networks (two-stream, body-part,
# attention, frame-difference), late fusion by the mean of their softmax scores, on real
# MSR Action3D skeletons, cross-subject (odd subjects train, even test).
# Each sub-network has its own cross-entropy (EnsembleCNN1DRecognizer), as in the paper.
# base_channels=32 halves the paper's widths (64/128/256) to fit this CPU budget.
_base_ = ["../_base_/default_runtime.py"]

layout = "kinect20"
clip_len = 32
base_channels = 32
data_root = "../shared/data/msr_action3d"

model = dict(
    type="EnsembleCNN1DRecognizer",
    backbone=dict(type="EnsembleCNN1D", in_channels=3, layout=layout, num_person=1,
                  num_frames=clip_len, base_channels=base_channels, dropout=0.0,
                  diff_dropout=0.3),
    cls_head=dict(type="EnsembleCNN1DHead", in_channels=4 * base_channels, num_classes=20,
                  dropout=0.3),
)

dataset_type = "MSRAction3D"
train_pipeline = [
    dict(type="PreNormalize3D", layout=layout),
    dict(type="RandomRot", theta=0.3),
    dict(type="RandomScale", scale=0.1),
    dict(type="UniformSampleFrames", clip_len=clip_len),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=1),
    dict(type="PackSkeletonInputs"),
]
test_pipeline = [
    dict(type="PreNormalize3D", layout=layout),
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

max_epochs = 40
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=20)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.05, momentum=0.9, weight_decay=5e-4,
                                    nesterov=True))
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=3,
         convert_to_iter_based=True),
    dict(type="CosineAnnealingLR", T_max=max_epochs - 3, by_epoch=True, begin=3,
         end=max_epochs, eta_min=1e-4),
]
default_hooks = dict(checkpoint=dict(type="CheckpointHook", interval=10, max_keep_ckpts=2))
