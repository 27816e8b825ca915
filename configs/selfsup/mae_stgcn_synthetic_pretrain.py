# Masked joint reconstruction pre-training on the embedded synthetic actions (labels
# unused): the data-free counterpart of mae_stgcn_msr3d_pretrain.py.
_base_ = ["mae_stgcn_msr3d_pretrain.py"]

layout = "ntu25"
clip_len = 16
model = dict(
    backbone=dict(graph_cfg=dict(layout=layout), base_channels=16, num_stages=4,
                  inflate_stages=(3,), down_stages=(3,)),
    layout=layout, temporal_stride=2)
train_pipeline = [
    dict(type="PreNormalize3D", layout=layout),
    dict(type="GenSkeFeat", layout=layout, feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=clip_len),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=1),
    dict(type="PackSkeletonInputs"),
]
train_dataloader = dict(dataset=dict(
    _delete_=True, type="SyntheticSkeletonActions", split="train", num_per_class=20,
    frames=(30, 50), seed=0, pipeline=train_pipeline))
max_epochs = 40
train_cfg = dict(max_epochs=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=3e-3))
param_scheduler = [dict(type="CosineAnnealingLR", T_max=max_epochs, by_epoch=True,
                        eta_min=1e-5)]
default_hooks = dict(checkpoint=dict(interval=max_epochs), logger=dict(interval=5))
