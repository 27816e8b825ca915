# Split MSR Action3D, GDumb: a 40-sample greedy class-balanced memory; the model is retrained
# from its initial weights on the memory alone at every task. 100 epochs on the memory per task
# (3 steps of 16 per epoch, 300 steps from scratch; the paper trains to convergence), with the
# cosine schedule stretched to match.
_base_ = ["./finetune.py"]
gdumb_epochs = 100
train_cfg = dict(epochs_per_task=gdumb_epochs,
                 strategy=dict(_delete_=True, type="GDumb", memory_size=40))
param_scheduler = [
    dict(type="CosineAnnealingLR", T_max=gdumb_epochs, by_epoch=True, begin=0,
         end=gdumb_epochs, eta_min=1e-4),
]
