# HiCLR pre-training on the embedded synthetic actions (NTU-25 body, labels unused): the
# small, data-free counterpart of hiclr_stgcn_msr3d_pretrain.py (tests and quick trials).
_base_ = ["hiclr_stgcn_msr3d_pretrain.py"]

layout = "ntu25"
clip_len = 16
model = dict(
    backbone=dict(graph_cfg=dict(layout=layout), base_channels=16, num_stages=4,
                  inflate_stages=(3,), down_stages=(3,)),
    feature_dim=32, queue_size=32, momentum=0.9)
basic_view = [
    dict(type="UniformSampleFrames", clip_len=clip_len),
    dict(type="PoseDecode"),
    dict(type="RandomTemporalReflectCrop", padding_ratio=6),
    dict(type="RandomShear", amplitude=0.5),
    dict(type="FormatGCNInput", num_person=1),
]
strong_view = basic_view[:-1] + [
    dict(type="RandomSpatialFlip", layout=layout, p=0.5),
    dict(type="RandomMainAxisRotate", main_deg=30.0, other_deg=1.0),
    dict(type="RandomGaussianNoise", std=0.01, p=0.5),
    dict(type="RandomGaussianBlur", kernel=15, sigma=(0.1, 2.0), p=0.5),
    dict(type="RandomAxisMask", p=0.5),
    dict(type="FormatGCNInput", num_person=1),
]
train_pipeline = [
    dict(type="PreNormalize3D", layout=layout),
    dict(type="GenSkeFeat", layout=layout, feats=["j"]),
    dict(type="MultiViewSkeleton", views=[basic_view, basic_view, strong_view, strong_view]),
    dict(type="PackSkeletonInputs"),
]
train_dataloader = dict(dataset=dict(
    _delete_=True, type="SyntheticSkeletonActions", split="train", num_per_class=20,
    frames=(30, 50), seed=0, pipeline=train_pipeline))
max_epochs = 30
optim_wrapper = dict(optimizer=dict(lr=0.05))
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [dict(type="MultiStepLR", by_epoch=True, milestones=[25], gamma=0.1)]
default_hooks = dict(checkpoint=dict(interval=max_epochs), logger=dict(interval=5))
