# ST-GCN on the embedded synthetic actions (10 classes, NTU-25 body): the zoo's default job.
_base_ = ["../_base_/default_runtime.py"]

layout = "ntu25"
clip_len = 32
# Scalars also go to TensorBoard: `uv run tensorboard --logdir work_dirs/stgcn_synthetic`.
visualizer = dict(type="Visualizer", name="visualizer",
                  vis_backends=[dict(type="LocalVisBackend"), dict(type="TensorboardVisBackend")])

model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="STGCN", graph_cfg=dict(layout=layout, mode="stgcn_spatial"),
                  base_channels=32, num_stages=6, inflate_stages=(3, 5), down_stages=(3, 5)),
    cls_head=dict(type="GCNHead", in_channels=128, num_classes=10, dropout=0.1),
)

dataset_type = "SyntheticSkeletonActions"
train_pipeline = [
    dict(type="PreNormalize3D", layout=layout),
    dict(type="GenSkeFeat", layout=layout, feats=["j"]),
    dict(type="RandomRot", theta=0.2),
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
    batch_size=32, num_workers=0,
    sampler=dict(type="DefaultSampler", shuffle=True),
    dataset=dict(type=dataset_type, split="train", num_per_class=60, seed=0,
                 pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=32, num_workers=0,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(type=dataset_type, split="test", num_per_class=20, seed=0,
                 pipeline=test_pipeline),
)
test_dataloader = val_dataloader
val_evaluator = dict(type="AccMetric")
test_evaluator = val_evaluator

train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=15, val_interval=5)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=5e-4,
                                    nesterov=True))
param_scheduler = [dict(type="CosineAnnealingLR", T_max=15, by_epoch=True, eta_min=1e-4)]
default_hooks = dict(logger=dict(type="LoggerHook", interval=10))
