# Linear evaluation on MSR Action3D cross-subject: the pre-trained encoder is frozen (eval
# mode), only the linear classifier learns (as CrosSCLR / AimCLR / HiCLR). Give the encoder:
#   --cfg-options load_from=work_dirs/hiclr_stgcn_msr3d_pretrain/epoch_100.pth
# (load_from=None evaluates a random encoder, the baseline).
_base_ = ["../_base_/default_runtime.py"]

layout = "kinect20"
clip_len = 32
data_root = "../shared/data/msr_action3d"

model = dict(
    type="LinearEvalRecognizer",
    backbone=dict(type="STGCN", graph_cfg=dict(layout=layout, mode="stgcn_spatial"),
                  base_channels=16, num_stages=6, inflate_stages=(3, 5), down_stages=(3, 5)),
    cls_head=dict(type="GCNHead", in_channels=64, num_classes=20),
)

train_pipeline = [  # no augmentation, as the official linear evaluation
    dict(type="PreNormalize3D", layout=layout),
    dict(type="GenSkeFeat", layout=layout, feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=clip_len),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=1),
    dict(type="PackSkeletonInputs"),
]
test_pipeline = [
    dict(type="PreNormalize3D", layout=layout),
    dict(type="GenSkeFeat", layout=layout, feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=clip_len, num_clips=5, test_mode=True),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=1),
    dict(type="PackSkeletonInputs"),
]
train_dataloader = dict(
    batch_size=16, num_workers=0,
    sampler=dict(type="DefaultSampler", shuffle=True),
    dataset=dict(type="MSRAction3D", data_root=data_root, split="train",
                 pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=16, num_workers=0,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(type="MSRAction3D", data_root=data_root, split="test",
                 pipeline=test_pipeline),
)
test_dataloader = val_dataloader
val_evaluator = dict(type="AccMetric")
test_evaluator = val_evaluator

max_epochs = 60
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.5, momentum=0.9, weight_decay=0.0))
param_scheduler = [dict(type="CosineAnnealingLR", T_max=max_epochs, by_epoch=True,
                        eta_min=1e-4)]
default_hooks = dict(checkpoint=dict(type="CheckpointHook", interval=max_epochs,
                                     max_keep_ckpts=1))
