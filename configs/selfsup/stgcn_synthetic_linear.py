# Linear evaluation on the embedded synthetic actions (encoder of the *_synthetic_pretrain
# configs): --cfg-options load_from=<pre-training checkpoint>; load_from=None: random encoder.
_base_ = ["stgcn_msr3d_linear.py"]

layout = "ntu25"
clip_len = 16
model = dict(
    backbone=dict(graph_cfg=dict(layout=layout), base_channels=16, num_stages=4,
                  inflate_stages=(3,), down_stages=(3,)),
    cls_head=dict(in_channels=32, num_classes=10))
train_pipeline = [
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
    dict(type="UniformSampleFrames", clip_len=clip_len, num_clips=1, test_mode=True),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=1),
    dict(type="PackSkeletonInputs"),
]
train_dataloader = dict(dataset=dict(
    _delete_=True, type="SyntheticSkeletonActions", split="train", num_per_class=20,
    frames=(30, 50), seed=0, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(
    _delete_=True, type="SyntheticSkeletonActions", split="test", num_per_class=10,
    frames=(30, 50), seed=0, pipeline=test_pipeline))
test_dataloader = val_dataloader
max_epochs = 30
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [dict(type="CosineAnnealingLR", T_max=max_epochs, by_epoch=True,
                        eta_min=1e-4)]
default_hooks = dict(checkpoint=dict(interval=max_epochs), logger=dict(interval=5))
