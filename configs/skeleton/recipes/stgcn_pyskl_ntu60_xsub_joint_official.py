# PYSKL's ST-GCN, the published training recipe (Duan et al., ACM MM 2022; PYSKL
# configs/stgcn/stgcn_pyskl_ntu60_xsub_3dkp/j.py, MMAction2 1.x
# configs/skeleton/stgcn/stgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d.py): batch 128
# (8 GPUs x 16), SGD lr 0.1 (momentum 0.9, Nesterov), weight decay 5e-4, cosine annealing to 0
# by iteration over 80 epochs (written there as 16 epochs of a 5x RepeatDataset), 100 uniformly
# sampled frames, no other augmentation; test: 10 clips of 100 frames. Model:
# ../stgcn_pyskl_ntu60_xsub_joint.py (PysklSTGCN, 'nturgb+d' graph = zoo 'ntu25_pyskl').
# Targets the MMAction2 1.x NTU RGB+D 60 X-Sub 3-D joint checkpoint: 88.11 % top-1 (10 clips;
# zoo://stgcn_ntu60_xsub_joint_mmaction2; PYSKL's own table: 87.8).
_base_ = ["../../_base_/default_runtime.py", "../../_base_/datasets/ntu60_xsub_3d.py"]

published = dict(dataset="NTU RGB+D 60 X-Sub", stream="joint", top1=88.11,
                 source="MMAction2 1.x configs/skeleton/stgcn README (PYSKL: 87.8)")
clip_len = 100
model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="PysklSTGCN", graph_cfg=dict(layout=f"{_base_.layout}_pyskl",
                                                    mode="stgcn_spatial"), in_channels=3),
    cls_head=dict(type="GCNHead", in_channels=256, num_classes=_base_.num_classes),
)
train_pipeline = [
    dict(type="PreNormalize3D", layout=_base_.layout),
    dict(type="GenSkeFeat", layout=_base_.layout, feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=clip_len),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=2),
    dict(type="PackSkeletonInputs"),
]
# the base's test pipeline with PYSKL's 10 clips of 100 frames
test_pipeline = [dict(step, clip_len=clip_len, num_clips=10) if step.type == "UniformSampleFrames"
                 else step for step in _base_.test_pipeline]
train_dataloader = dict(batch_size=128, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=128, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 80
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=5)
optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=5e-4,
                                    nesterov=True))
param_scheduler = [dict(type="CosineAnnealingLR", T_max=max_epochs, eta_min=0, by_epoch=True,
                        begin=0, end=max_epochs, convert_to_iter_based=True)]
