# ./sgd_cosine_80e.py shortened to 40 epochs with 3 warm-up epochs (Ensem-NN on MSR Action3D);
# validation every 20 epochs.
_base_ = ["./sgd_cosine_80e.py"]

max_epochs = 40
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=20)
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=3,
         convert_to_iter_based=True),
    dict(type="CosineAnnealingLR", T_max=max_epochs - 3, by_epoch=True, begin=3,
         end=max_epochs, eta_min=1e-4),
]
