# SGD with Nesterov momentum (lr 0.05, weight decay 5e-4), 5 warm-up epochs, then a cosine
# decay to 1e-4 at epoch 80; validation every 10 epochs. A recipe that changes max_epochs
# rewrites train_cfg and param_scheduler (they depend on it).
max_epochs = 80
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=10)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.05, momentum=0.9, weight_decay=5e-4,
                                    nesterov=True))
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type="CosineAnnealingLR", T_max=max_epochs - 5, by_epoch=True, begin=5,
         end=max_epochs, eta_min=1e-4),
]
