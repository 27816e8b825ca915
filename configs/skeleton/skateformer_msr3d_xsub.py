# SkateFormer (Do & Kim, ECCV 2024) on real MSR Action3D skeletons, cross-subject (odd subjects
# train, even test). The network is the official design (Skate-Embedding, four Skate-Types with
# the Kinect-20 partitions, 64 frames with index_t, official Skate-Type sizes, mlp_ratio 1 and
# the NW-UCLA regularisation) at half the official width (48-96-96-96 channels, 16 heads) and
# trained for 30 epochs, so that it fits in about half an hour on a 2-core CPU; the data
# pipeline and augmentation are those of ctrgcn_msr3d_xsub.py with 64-frame clips.
_base_ = ["./ctrgcn_msr3d_xsub.py"]

clip_len = 64
model = dict(
    type="SkeletonRecognizer",
    backbone=dict(_delete_=True, type="SkateFormer", layout="kinect20", num_persons=1,
                  embed_dim=48, channels=(48, 96, 96, 96), num_heads=16, mlp_ratio=1.0,
                  attn_drop=0.5, drop_path=0.2, num_frames=clip_len),
    cls_head=dict(type="GCNHead", in_channels=96, num_classes=20, dropout=0.3),
)
train_pipeline = [dict(step, clip_len=clip_len) if step.type == "UniformSampleFrames" else step
                  for step in _base_.train_pipeline]
test_pipeline = [dict(step, clip_len=clip_len) if step.type == "UniformSampleFrames" else step
                 for step in _base_.test_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 30
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=max_epochs)
# AdamW as in the official configs (lr scaled to batch 16)
optim_wrapper = dict(_delete_=True, optimizer=dict(type="AdamW", lr=1e-3, weight_decay=0.1))
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type="CosineAnnealingLR", T_max=max_epochs - 5, by_epoch=True, begin=5,
         end=max_epochs, eta_min=1e-5),
]
