# CTR-GCN on real MSR Action3D skeletons, cross-subject (odd subjects train, even test).
# Data and pipeline as stgcn_msr3d_xsub.py (../_base_/datasets/msr3d_xsub.py) with stronger
# rotation; the network is the official CTR-GCN (10 blocks, I/inward/outward graph) narrowed
# to base width 16 (16-32-64 channels) and trained for 25 epochs so that it fits in a few
# minutes on an idle 2-core CPU.
_base_ = ["../_base_/default_runtime.py", "../_base_/datasets/msr3d_xsub.py",
          "../_base_/schedules/sgd_cosine_80e.py"]

model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="CTRGCN", graph_cfg=dict(layout="kinect20", mode="spatial"),
                  base_channels=16, num_person=1),
    cls_head=dict(type="GCNHead", in_channels=64, num_classes=20, dropout=0.3),
)
train_pipeline = [dict(step, theta=0.3) if step.type == "RandomRot" else step
                  for step in _base_.train_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

max_epochs = 25
# validate only at the end: the 10-clip test pass costs about three training epochs
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type="CosineAnnealingLR", T_max=max_epochs - 5, by_epoch=True, begin=5,
         end=max_epochs, eta_min=1e-4),
]
default_hooks = dict(checkpoint=dict(type="CheckpointHook", interval=5, max_keep_ckpts=2))
