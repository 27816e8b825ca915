# Semi-supervised fine-tuning: the fine-tuning protocol with a seeded, class-balanced 10 % of
# the training labels (label_fraction=0.01 for 1 %: at least one clip per class is kept;
# label_seed picks another draw). Baseline: load_from=None trains from scratch on the same
# labels.
_base_ = ["stgcn_msr3d_finetune.py"]

train_dataloader = dict(batch_size=8, dataset=dict(label_fraction=0.1, label_seed=0))
max_epochs = 100
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [dict(type="CosineAnnealingLR", T_max=max_epochs, by_epoch=True,
                        eta_min=1e-4)]
default_hooks = dict(checkpoint=dict(type="CheckpointHook", interval=max_epochs,
                                     max_keep_ckpts=1))
