# Masked joint reconstruction (SkeletonMAE-style) pre-training of the same small ST-GCN on
# MSR Action3D's training subjects; labels are never read. Evaluate as the HiCLR encoder.
_base_ = ["../_base_/default_runtime.py"]

layout = "kinect20"
clip_len = 32
data_root = "../shared/data/msr_action3d"

model = dict(
    type="SkeletonMAE",
    backbone=dict(type="STGCN", graph_cfg=dict(layout=layout, mode="stgcn_spatial"),
                  base_channels=16, num_stages=6, inflate_stages=(3, 5), down_stages=(3, 5)),
    layout=layout,
    in_channels=3,
    temporal_stride=4,       # the backbone halves T at stages 3 and 5
    mask_ratio=0.4,
    mask_unit="joint",
    loss=dict(type="MaskedReconstructionLoss", kind="mse"),
)

train_pipeline = [
    dict(type="PreNormalize3D", layout=layout),
    dict(type="GenSkeFeat", layout=layout, feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=clip_len),
    dict(type="PoseDecode"),
    dict(type="RandomShear", amplitude=0.2),
    dict(type="FormatGCNInput", num_person=1),
    dict(type="PackSkeletonInputs"),
]
train_dataloader = dict(
    batch_size=16, num_workers=0, drop_last=True,
    sampler=dict(type="DefaultSampler", shuffle=True),
    dataset=dict(type="MSRAction3D", data_root=data_root, split="train",
                 pipeline=train_pipeline),
)

max_epochs = 100
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs)
optim_wrapper = dict(optimizer=dict(type="AdamW", lr=1e-3, weight_decay=0.05))
param_scheduler = [dict(type="CosineAnnealingLR", T_max=max_epochs, by_epoch=True,
                        eta_min=1e-5)]
default_hooks = dict(checkpoint=dict(type="CheckpointHook", interval=max_epochs,
                                     max_keep_ckpts=1))
