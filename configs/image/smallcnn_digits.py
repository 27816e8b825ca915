# A small CNN on scikit-learn's real handwritten digits (8x8, 10 classes).
_base_ = ["../_base_/default_runtime.py"]

model = dict(
    type="ImageClassifier",
    backbone=dict(type="SmallCNN", in_channels=1, channels=(32, 64, 128)),
    cls_head=dict(type="LinearClsHead", in_channels=128, num_classes=10),
)
train_dataloader = dict(
    batch_size=64, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=True),
    dataset=dict(type="Digits", split="train"),
)
val_dataloader = dict(
    batch_size=128, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(type="Digits", split="test"),
)
test_dataloader = val_dataloader
val_evaluator = dict(type="AccMetric", topk=(1,))
test_evaluator = val_evaluator
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=10, val_interval=5)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
optim_wrapper = dict(optimizer=dict(type="Adam", lr=1e-3))
default_hooks = dict(logger=dict(type="LoggerHook", interval=10))
