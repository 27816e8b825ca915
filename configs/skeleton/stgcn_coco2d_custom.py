# ST-GCN (PYSKL / MMAction2 1.x design, PysklSTGCN) on a user's own 2-D COCO-17 clips: the
# folder that tools/data/extract_pose.py writes (labels.csv + one .npy per clip, read by
# COCO2DClips). Same model as zoo://stgcn_ntu60_xsub_hrnet2d_joint_mmaction2, so those
# HRNet-2D weights fine-tune here (docs/custom_data.md):
#   uv run tools/train.py configs/skeleton/stgcn_coco2d_custom.py \
#       --cfg-options data_root=data/my_clips num_classes=3
_base_ = ["../_base_/default_runtime.py"]

data_root = "data/my_clips"
num_classes = 3
layout = "coco17"
clip_len = 48

model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="PysklSTGCN", graph_cfg=dict(layout=layout, mode="stgcn_spatial"),
                  in_channels=3),
    cls_head=dict(type="GCNHead", in_channels=256, num_classes=num_classes, dropout=0.1),
)

dataset_type = "COCO2DClips"
train_pipeline = [
    dict(type="PreNormalize2D"),
    dict(type="GenSkeFeat", layout=layout, feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=clip_len),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=2, with_score=True),
    dict(type="PackSkeletonInputs"),
]
test_pipeline = [
    dict(type="PreNormalize2D"),
    dict(type="GenSkeFeat", layout=layout, feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=clip_len, num_clips=5, test_mode=True),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=2, with_score=True),
    dict(type="PackSkeletonInputs"),
]
train_dataloader = dict(
    batch_size=16, num_workers=0,
    sampler=dict(type="DefaultSampler", shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split="train",
                 pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=16, num_workers=0,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split="test", pipeline=test_pipeline),
)
test_dataloader = val_dataloader
val_evaluator = dict(type="AccMetric")
test_evaluator = val_evaluator

train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=30, val_interval=5)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.05, momentum=0.9, weight_decay=5e-4,
                                    nesterov=True))
param_scheduler = [dict(type="CosineAnnealingLR", T_max=30, by_epoch=True, eta_min=1e-4)]
default_hooks = dict(logger=dict(type="LoggerHook", interval=10))
