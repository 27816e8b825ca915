# Linear evaluation on MSR Action3D cross-subject: the pre-trained encoder is frozen (eval
# mode), only the linear classifier learns (as CrosSCLR / AimCLR / HiCLR). Give the encoder:
#   --cfg-options load_from=work_dirs/hiclr_stgcn_msr3d_pretrain/epoch_100.pth
# (load_from=None evaluates a random encoder, the baseline).
_base_ = ["../_base_/default_runtime.py", "../_base_/datasets/msr3d_xsub.py"]

model = dict(
    type="LinearEvalRecognizer",
    backbone=dict(type="STGCN", graph_cfg=dict(layout=_base_.layout, mode="stgcn_spatial"),
                  base_channels=16, num_stages=6, inflate_stages=(3, 5), down_stages=(3, 5)),
    cls_head=dict(type="GCNHead", in_channels=64, num_classes=20),
)

# the MSR base's pipelines without augmentation (as the official linear evaluation), 5 test clips
train_pipeline = [step for step in _base_.train_pipeline
                  if step.type not in ("RandomRot", "RandomScale")]
test_pipeline = [dict(step, num_clips=5) if step.type == "UniformSampleFrames" else step
                 for step in _base_.test_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 60
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.5, momentum=0.9, weight_decay=0.0))
param_scheduler = [dict(type="CosineAnnealingLR", T_max=max_epochs, by_epoch=True,
                        eta_min=1e-4)]
default_hooks = dict(checkpoint=dict(type="CheckpointHook", interval=max_epochs,
                                     max_keep_ckpts=1))
