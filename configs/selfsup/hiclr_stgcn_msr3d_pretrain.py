# HiCLR pre-training (Zhang et al., AAAI 2023) of a small ST-GCN on MSR Action3D's training
# subjects; labels are never read. Any skeleton data set: --cfg-options with its dataset,
# layout and backbone graph. Then: stgcn_msr3d_linear.py / _finetune.py / _semi.py with
# load_from=<work_dir>/epoch_<N>.pth, and tools/ssl_knn.py for k-NN.
_base_ = ["../_base_/default_runtime.py"]

layout = "kinect20"
clip_len = 32
data_root = "../shared/data/msr_action3d"

model = dict(
    type="HiCLR",
    backbone=dict(type="STGCN", graph_cfg=dict(layout=layout, mode="stgcn_spatial"),
                  base_channels=16, num_stages=6, inflate_stages=(3, 5), down_stages=(3, 5)),
    feature_dim=128,
    queue_size=128,      # official 32768 for NTU-60's 40k clips; MSR has ~280 training clips
    momentum=0.99,       # official 0.999 over ~94k steps; this run has ~2k
    mask_ratio=0.1,      # official Jointmask ratio
    loss=dict(type="HiCLRLoss", temperature=0.07),
)

# Official growing augmentations (feeder/ntu_feeder.py, Feeder_triple, aug_method '12345'):
# basic = temporal crop + shear; strong = basic + flip, rotate, noise, blur, axis mask.
basic_view = [
    dict(type="UniformSampleFrames", clip_len=clip_len),
    dict(type="PoseDecode"),
    dict(type="RandomTemporalReflectCrop", padding_ratio=6),
    dict(type="RandomShear", amplitude=0.5),
    dict(type="FormatGCNInput", num_person=1),
]
strong_view = basic_view[:-1] + [
    dict(type="RandomSpatialFlip", layout=layout, p=0.5),
    dict(type="RandomMainAxisRotate", main_deg=30.0, other_deg=1.0),
    dict(type="RandomGaussianNoise", std=0.01, p=0.5),
    dict(type="RandomGaussianBlur", kernel=15, sigma=(0.1, 2.0), p=0.5),
    dict(type="RandomAxisMask", p=0.5),
    dict(type="FormatGCNInput", num_person=1),
]
train_pipeline = [
    dict(type="PreNormalize3D", layout=layout),
    dict(type="GenSkeFeat", layout=layout, feats=["j"]),
    # query, key, strong, strong + joint mask (the mask is applied inside the model)
    dict(type="MultiViewSkeleton", views=[basic_view, basic_view, strong_view, strong_view]),
    dict(type="PackSkeletonInputs"),
]
train_dataloader = dict(
    batch_size=16, num_workers=0, drop_last=True,
    sampler=dict(type="DefaultSampler", shuffle=True),
    dataset=dict(type="MSRAction3D", data_root=data_root, split="train",
                 pipeline=train_pipeline),
)

max_epochs = 100
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs)
optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type="MultiStepLR", by_epoch=True, milestones=[80], gamma=0.1)]
default_hooks = dict(checkpoint=dict(type="CheckpointHook", interval=max_epochs,
                                     max_keep_ckpts=1))
