# ST-GCN, the authors' training recipe (Yan et al., AAAI 2018; yysijie/st-gcn
# config/st_gcn/ntu-xsub/train.yaml): batch 64 (4 GPUs), SGD lr 0.1 (momentum 0.9, Nesterov),
# weight decay 1e-4, 80 epochs, lr x0.1 at epochs 10 and 50; no augmentation; the official
# feeder zero-pads every sequence to 300 frames (here UniformSampleFrames samples 300, looping
# shorter sequences). Model: ../stgcn_official_ntu60.py (10 blocks, spatial partition, edge
# importance, dropout 0.5). Data: PYSKL's NTU-60 pickle
# (configs/_base_/datasets/ntu60_xsub_3d.py).
# Targets Yan et al. Table 3: NTU RGB+D 60 X-Sub 81.5 % top-1 (joint, single model).
_base_ = ["../stgcn_official_ntu60.py", "../../_base_/datasets/ntu60_xsub_3d.py"]

published = dict(dataset="NTU RGB+D 60 X-Sub", stream="joint", top1=81.5,
                 source="Yan et al., AAAI 2018, Table 3")
clip_len = 300
model = dict(cls_head=dict(num_classes=_base_.num_classes))
train_pipeline = [
    dict(type="UniformSampleFrames", clip_len=clip_len),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=2),
    dict(type="PackSkeletonInputs"),
]
test_pipeline = [
    dict(type="UniformSampleFrames", clip_len=clip_len, num_clips=1, test_mode=True),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=2),
    dict(type="PackSkeletonInputs"),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 80
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=5)
optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=1e-4,
                                    nesterov=True))
param_scheduler = [dict(type="MultiStepLR", by_epoch=True, begin=0, end=max_epochs,
                        milestones=[10, 50], gamma=0.1)]
