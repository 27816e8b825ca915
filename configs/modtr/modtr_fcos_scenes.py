# Step 3, ModTr (Medeiros et al., ECCV 2024): a U-Net translator in front of the frozen RGB
# detector of fcos_rgb_scenes.py, trained on the IR scenes with the detector's own losses
# (weights 0.1 as in the official code). Only the translator learns; the detector weights
# stay bit-identical. Needs step 1's work dir (its last_checkpoint is read).
# RGB check of the untouched detector inside the ModTr checkpoint:
# --cfg-options model.use_translator=False test_dataloader.dataset.modality=rgb
_base_ = ["./fcos_rgb_scenes.py"]

model = dict(
    _delete_=True,
    type="ModTrDetector",
    translator=dict(type="ModTrTranslator", encoder="plain", encoder_depth=4,
                    encoder_channels=(16, 32, 64, 128), decoder_channels=(128, 64, 32, 16)),
    detector={{_base_.detector}},
    detector_checkpoint="work_dirs/fcos_rgb_scenes",
    fusion="none",
    loss_weights=dict(loss_classification=0.1, loss_bbox_regression=0.1,
                      loss_bbox_ctrness=0.1, loss_classifier=0.1, loss_box_reg=0.1,
                      loss_objectness=0.1, loss_rpn_box_reg=0.1),
)
train_dataloader = dict(dataset=dict(modality="ir", num_samples=160))
val_dataloader = dict(dataset=dict(modality="ir"))
test_dataloader = dict(dataset=dict(modality="ir"))

train_cfg = dict(max_epochs=8, val_interval=8)
optim_wrapper = dict(optimizer=dict(type="AdamW", lr=1e-3, weight_decay=1e-4),
                     clip_grad=dict(max_norm=0.5))
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=10),
    dict(type="CosineAnnealingLR", by_epoch=True, T_max=8, eta_min=1e-5),
]
