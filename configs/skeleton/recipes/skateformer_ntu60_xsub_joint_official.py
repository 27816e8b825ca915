# SkateFormer, the authors' training recipe (Do & Kim, ECCV 2024; KAIST-VICLab/SkateFormer
# config/train/ntu_cs/SkateFormer_j.yaml): batch 128, AdamW lr 1e-3, weight decay 0.1,
# 500 epochs with 25 linear warm-up epochs then cosine decay to 1e-5, label smoothing 0.1;
# 64-frame windows from a random 50-100 % crop (p_interval [0.5, 1]) and random rotation here
# (the authors' feeder has further intra/inter-instance augmentations, not reproduced).
# Model: ../skateformer_ntu60_xsub_joint.py (official sizes, index_t, attn_drop 0.5,
# drop_path 0.2). Targets the authors' NTU RGB+D 60 X-Sub joint stream: 92.6 % top-1.
_base_ = ["../skateformer_ntu60_xsub_joint.py", "../../_base_/datasets/ntu60_xsub_3d.py"]

published = dict(dataset="NTU RGB+D 60 X-Sub", stream="joint", top1=92.6,
                 source="Do & Kim, ECCV 2024 (authors' model card)")
model = dict(label_smoothing=0.1,
             backbone=dict(num_frames=_base_.clip_len),
             cls_head=dict(num_classes=_base_.num_classes))
train_dataloader = dict(batch_size=128)

max_epochs = 500
warmup_epochs = 25
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=5)
optim_wrapper = dict(optimizer=dict(type="AdamW", lr=1e-3, weight_decay=0.1))
param_scheduler = [
    dict(type="LinearLR", start_factor=1e-4, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type="CosineAnnealingLR", T_max=max_epochs - warmup_epochs, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, eta_min=1e-5, convert_to_iter_based=True),
]
