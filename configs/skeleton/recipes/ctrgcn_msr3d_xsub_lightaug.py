# CTR-GCN MSR Action3D recipe (./ctrgcn_msr3d_xsub.py) with the light augmentation of the
# ST-GCN recipe (../../_base_/datasets/msr3d_xsub.py: 32 uniformly sampled frames, random
# rotation 0.1 rad and scaling 0.1; no temporal crop-resize, noise or joint / frame drop):
# one of the candidates compared on the validation subject when the recipe underfit (training
# loss ~1.7-2.0 after 65 epochs); it validated lower (62.7 vs 74.6), so the recipe keeps the
# authors' augmentation (benchmarks/results/skeleton_msr3d.md).
# It was validated with the recipe's starting regularisation (head dropout 0.5, label smoothing
# 0.1; lr 0.05), pinned here so that it stays the configuration that was compared.
_base_ = ["./ctrgcn_msr3d_xsub.py"]

model = dict(label_smoothing=0.1, cls_head=dict(dropout=0.5))

clip_len = 32
# written out (as in the base data-set file): the CTR-GCN recipe's own train_pipeline shadows
# the base's, and this is the exact pipeline that was validated
train_pipeline = [
    dict(type="PreNormalize3D", layout=_base_.layout),
    dict(type="GenSkeFeat", layout=_base_.layout, feats=["j"]),
    dict(type="RandomRot", theta=0.1),
    dict(type="RandomScale", scale=0.1),
    dict(type="UniformSampleFrames", clip_len=clip_len),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=1),
    dict(type="PackSkeletonInputs"),
]
test_pipeline = [dict(step, clip_len=clip_len) if step.type == "UniformSampleFrames" else step
                 for step in _base_.test_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
