# Ensem-NN (Xu & Wang 2018): four residual 1-D CNN sub-networks (two-stream, body-part,
# attention, frame-difference), late fusion by the mean of their softmax scores, on real
# MSR Action3D skeletons, cross-subject (odd subjects train, even test).
# Each sub-network has its own cross-entropy (EnsembleCNN1DRecognizer), as in the paper.
# base_channels=32 halves the paper's widths (64/128/256) to fit this CPU budget.
# Data: ../_base_/datasets/msr3d_xsub.py without the stream step (the network takes raw joints)
# and with stronger rotation; 40 epochs with 3 warm-up epochs.
_base_ = ["../_base_/default_runtime.py", "../_base_/datasets/msr3d_xsub.py",
          "../_base_/schedules/sgd_cosine_80e.py"]

base_channels = 32
model = dict(
    type="EnsembleCNN1DRecognizer",
    backbone=dict(type="EnsembleCNN1D", in_channels=3, layout="kinect20", num_person=1,
                  num_frames=32, base_channels=base_channels, dropout=0.0,
                  diff_dropout=0.3),
    cls_head=dict(type="EnsembleCNN1DHead", in_channels=4 * base_channels, num_classes=20,
                  dropout=0.3),
)
train_pipeline = [dict(step, theta=0.3) if step.type == "RandomRot" else step
                  for step in _base_.train_pipeline if step.type != "GenSkeFeat"]
test_pipeline = [step for step in _base_.test_pipeline if step.type != "GenSkeFeat"]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 40
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=20)
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=3,
         convert_to_iter_based=True),
    dict(type="CosineAnnealingLR", T_max=max_epochs - 3, by_epoch=True, begin=3,
         end=max_epochs, eta_min=1e-4),
]
default_hooks = dict(checkpoint=dict(type="CheckpointHook", interval=10, max_keep_ckpts=2))
