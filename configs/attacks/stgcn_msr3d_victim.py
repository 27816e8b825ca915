# ST-GCN victim for the adversarial-attack benchmark on MSR Action3D (cross-subject).
# Same model and data as configs/skeleton/stgcn_msr3d_xsub.py, trained for 15 epochs instead of
# 60 (the benchmark machine is shared; see benchmarks/attack_table.py), no intermediate val.
_base_ = ["../skeleton/stgcn_msr3d_xsub.py"]

max_epochs = 15
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type="CosineAnnealingLR", T_max=max_epochs - 2, by_epoch=True, begin=2,
         end=max_epochs, eta_min=1e-4),
]
default_hooks = dict(checkpoint=dict(type="CheckpointHook", interval=5, max_keep_ckpts=1))
