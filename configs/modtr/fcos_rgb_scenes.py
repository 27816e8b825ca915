# Step 1 of the ModTr experiments: an RGB detector (FCOS, small plain-conv backbone + FPN,
# random init) trained on the generated RGB scenes. Its checkpoint becomes the frozen
# detector of modtr_fcos_scenes.py. Test it on IR with
# --cfg-options test_dataloader.dataset.modality=ir
_base_ = ["../_base_/default_runtime.py"]

detector = dict(arch="fcos", backbone="tiny", backbone_channels=(32, 64, 128, 256),
                fpn_channels=64, num_classes=4, min_size=128, max_size=128)
model = dict(type="TorchvisionDetector", detector=detector)

train_pipeline = [dict(type="RandomFlipDet", prob=0.5), dict(type="PackDetInputs")]
train_dataloader = dict(
    batch_size=8, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=True),
    dataset=dict(type="SyntheticIRScenes", split="train", modality="rgb",
                 pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=16, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(type="SyntheticIRScenes", split="val", modality="rgb"),
)
test_dataloader = dict(
    batch_size=16, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(type="SyntheticIRScenes", split="test", modality="rgb"),
)
val_evaluator = dict(type="CocoDetMetric", num_classes=3)
test_evaluator = val_evaluator

train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=9, val_interval=3)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
optim_wrapper = dict(optimizer=dict(type="AdamW", lr=2e-3, weight_decay=1e-4),
                     clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type="CosineAnnealingLR", by_epoch=True, T_max=9, eta_min=1e-5),
]
default_hooks = dict(logger=dict(type="LoggerHook", interval=10),
                     checkpoint=dict(type="CheckpointHook", interval=3, max_keep_ckpts=1))

# result PNGs of `tools/test.py --show-dir DIR`: input (| translated) | detections
show_hook = dict(type="DetVisualizationHook")
