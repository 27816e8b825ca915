# Shared set-up of the topology-loss comparison on generated brick walls (TopoMortar-style):
# a small MONAI UNet, 128x128 walls, 40 training images with accurate labels, CPU-sized.
# The loss is set by the configs that inherit this file.
_base_ = ["../_base_/default_runtime.py"]

size = 128
train_pipeline = [
    dict(type="AlbuSeg", transforms=[
        dict(name="HorizontalFlip", p=0.5),
        dict(name="VerticalFlip", p=0.5),
        dict(name="RandomBrightnessContrast", brightness_limit=0.15, contrast_limit=0.15, p=0.5),
    ]),
    dict(type="TubedSkeleton", dilations=2),
    dict(type="PackSegInputs"),
]
test_pipeline = [dict(type="PackSegInputs")]

model = dict(
    type="Segmentor",
    num_classes=2,
    network=dict(type="MonaiUNet", spatial_dims=2, in_channels=3, out_channels=2,
                 channels=(16, 32, 64, 128), strides=(2, 2, 2), num_res_units=1),
    loss=dict(type="DiceCELoss"),
    data_preprocessor=dict(type="SegDataPreprocessor", mean=0.5, std=0.25),
)
train_dataloader = dict(
    batch_size=8, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=True),
    dataset=dict(type="BrickWalls", split="train", size=size, label_type="accurate",
                 pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=10, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(type="BrickWalls", split="val", size=size, pipeline=test_pipeline),
)
# Out-of-distribution sets: --cfg-options test_dataloader.dataset.split=test_ood_colour
# (or test_ood_texture).
test_dataloader = dict(
    batch_size=10, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(type="BrickWalls", split="test", size=size, pipeline=test_pipeline),
)
val_evaluator = dict(type="SegTopologyMetric", num_classes=2,
                     measures=("dice", "cldice", "betti0_err", "betti1_err"))
test_evaluator = dict(type="SegTopologyMetric", num_classes=2)
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=40, val_interval=10)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
optim_wrapper = dict(optimizer=dict(type="Adam", lr=2e-3))
param_scheduler = [dict(type="CosineAnnealingLR", T_max=40, eta_min=1e-5, by_epoch=True)]
default_hooks = dict(logger=dict(type="LoggerHook", interval=5),
                     checkpoint=dict(type="CheckpointHook", interval=10, max_keep_ckpts=1))
