# Fracture classifier of sagittal vertebra crops (healthy vs Genant grade >= 1) on fractured
# (curved, straightened) spine phantoms; its Grad-CAM++ maps of the fractured class are
# HealthiVert-GAN's heat-map input (HGAM), written by `tools/medical/write_heatmaps.py`.
# Phantoms are generated on first use (train: 32 cases, val: 12, each with one target
# vertebra of grade 0-3 and five healthy ones).
_base_ = ["../_base_/default_runtime.py"]

crop = 64
model = dict(type="VertebraFractureClassifier", widths=(16, 24, 32, 48), dropout=0.2,
             class_weight=(1.0, 5.0))
# curved phantoms, straightened before slicing (as the official classifier's input)
_data = dict(type="VertebraFractureDataset", crop_size=crop, slice_divisor=5.0, min_grade=1,
             curved=True, straighten=True)
train_dataloader = dict(
    batch_size=32, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=True),
    collate_fn=dict(type="default_collate"),
    dataset=dict(**_data, data_root="work_dirs/spine_phantoms_curved/cls_train", num_cases=32,
                 seed=11, flip_prob=0.5),
)
val_dataloader = dict(
    batch_size=64, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=False),
    collate_fn=dict(type="default_collate"),
    dataset=dict(**_data, data_root="work_dirs/spine_phantoms_curved/cls_val", num_cases=12,
                 seed=12),
)
test_dataloader = val_dataloader
val_evaluator = dict(type="AccMetric", topk=(1,))
test_evaluator = val_evaluator

train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=6, val_interval=2)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
optim_wrapper = dict(optimizer=dict(type="AdamW", lr=2e-3, weight_decay=1e-4))
param_scheduler = [dict(type="CosineAnnealingLR", T_max=6, by_epoch=True, eta_min=1e-5)]
default_hooks = dict(logger=dict(type="LoggerHook", interval=20),
                     checkpoint=dict(type="CheckpointHook", interval=2, max_keep_ckpts=1,
                                     save_best="mean_class_acc", rule="greater"))
# Grad-CAM++ settings read by tools/medical/write_heatmaps.py
heatmap_cfg = dict(target_layer="features", class_index=1)
