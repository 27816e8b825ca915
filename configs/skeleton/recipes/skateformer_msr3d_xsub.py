# SkateFormer recipe on MSR Action3D cross-subject, joint stream (issue 22), tuning protocol
# of ./ctrgcn_msr3d_xsub.py (train subjects 1, 3, 5, 7; validate on held-out subject 9).
# From the authors' recipe (Do & Kim, ECCV 2024, KAIST-VICLab/SkateFormer config/train/):
# 64-frame windows from a random 50-100 % crop (p_interval [0.5, 1]), AdamW (their lr 1e-3,
# weight decay 0.1), linear warm-up for 5 % of the epochs then cosine decay to 1e-5, label
# smoothing 0.1, mlp_ratio 1 (the NW-UCLA model).
# Adapted to a small data set: half the official width (48-96-96-96, 16 heads), batch 16,
# 80 epochs instead of 500 (~18 s per epoch on one CPU thread here), the augmentations of
# ./ctrgcn_msr3d_xsub.py.
# Chosen on the validation subject (benchmarks/results/skeleton_msr3d.md), in two rounds:
# 1. lighter regularisation than the NW-UCLA model's attn_drop 0.5, drop_path 0.2 (and the
#    head dropout 0.5 of the first version): attn_drop 0.1, drop_path 0.1, no head dropout —
#    subject 9: 69.5 against 47.5, but the training loss was still ~1.3 after 80 epochs;
# 2. against that, lr 2e-3 alone (69.5) and lr 2e-3 with no attention / path dropout and no
#    label smoothing (74.6, training loss 0.65): the latter is this recipe (on ~300 training
#    sequences the 80-epoch schedule is only ~1,400 steps; augmentations stay on).
# Test split, 3 seeds (read once, after the choice): this recipe 57.8 ± 5.9; round 1's values
# 67.5 ± 0.2 (--cfg-options optim_wrapper.optimizer.lr=0.001 model.label_smoothing=0.1
# model.backbone.attn_drop=0.1 model.backbone.drop_path=0.1). The single-seed validation on
# 59 sequences did not separate them; lr 2e-3 trains unevenly (docs/recipes.md).
_base_ = ["./ctrgcn_msr3d_xsub.py"]

model = dict(
    type="SkeletonRecognizer", label_smoothing=0.0,
    backbone=dict(_delete_=True, type="SkateFormer", layout=_base_.layout, num_persons=1,
                  embed_dim=48, channels=(48, 96, 96, 96), num_heads=16, mlp_ratio=1.0,
                  attn_drop=0.0, drop_path=0.0, num_frames=_base_.clip_len),
    cls_head=dict(type="GCNHead", in_channels=96, num_classes=_base_.num_classes, dropout=0.0),
)

max_epochs = 80
warmup_epochs = 4
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=10)
optim_wrapper = dict(_delete_=True, optimizer=dict(type="AdamW", lr=2e-3, weight_decay=0.1))
param_scheduler = [
    dict(type="LinearLR", start_factor=1e-3, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type="CosineAnnealingLR", T_max=max_epochs - warmup_epochs, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, eta_min=1e-5, convert_to_iter_based=True),
]
