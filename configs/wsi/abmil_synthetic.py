# ABMIL (gated attention) on the synthetic WSI cohort of tools/wsi/make_demo_data.py:
#   uv run tools/wsi/make_demo_data.py data/wsi_synthetic
#   uv run tools/train.py configs/wsi/abmil_synthetic.py
_base_ = ["../_base_/default_runtime.py"]
data_root = "{{$ZOO_WSI_DATA:data/wsi_synthetic}}"  # env ZOO_WSI_DATA overrides

model = dict(type="ABMIL", in_dim=128, embed_dim=128, attn_dim=64, num_classes=2, dropout=0.1)
train_dataloader = dict(
    batch_size=1, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=True),
    collate_fn=dict(type="pseudo_collate"),
    dataset=dict(type="WSIBagDataset", feature_dir=data_root + "/features",
                 label_csv=data_root + "/slides/labels.csv", split="train",
                 annotation_dir=data_root + "/slides/annotations"),
)
test_dataloader = dict(
    batch_size=1, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=False),
    collate_fn=dict(type="pseudo_collate"),
    dataset=dict(type="WSIBagDataset", feature_dir=data_root + "/features",
                 label_csv=data_root + "/slides/labels.csv", split="test",
                 annotation_dir=data_root + "/slides/annotations", test_mode=True),
)
val_dataloader = test_dataloader
val_evaluator = dict(type="MILMetric")
test_evaluator = val_evaluator
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=40, val_interval=20)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
optim_wrapper = dict(optimizer=dict(type="Adam", lr=5e-4, weight_decay=1e-4))
default_hooks = dict(logger=dict(type="LoggerHook", interval=8),
                     checkpoint=dict(type="CheckpointHook", interval=20, max_keep_ckpts=1))
