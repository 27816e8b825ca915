# NTU RGB+D 60 cross-subject from PYSKL's ntu60_3danno.pkl (PoseDataset, splits xsub_train /
# xsub_val), joint stream, two persons; shared by the published-recipe configs in
# configs/skeleton/recipes
# NTU data is not in this repository: set data_root / ann_file to where the pickle is.
layout = "ntu25"
clip_len = 64
num_classes = 60
data_root = "data/nturgbd"
ann_file = "ntu60_3danno.pkl"
dataset_type = "PoseDataset"
train_pipeline = [
    dict(type="PreNormalize3D", layout=layout),
    dict(type="RandomTemporalCropResize", ratio=(0.5, 1.0), clip_len=clip_len),
    dict(type="GenSkeFeat", layout=layout, feats=["j"]),
    dict(type="RandomRot", theta=0.3),
    dict(type="FormatGCNInput", num_person=2),
    dict(type="PackSkeletonInputs"),
]
test_pipeline = [
    dict(type="PreNormalize3D", layout=layout),
    dict(type="GenSkeFeat", layout=layout, feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=clip_len, num_clips=1, test_mode=True),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=2),
    dict(type="PackSkeletonInputs"),
]
train_dataloader = dict(
    batch_size=64, num_workers=8, persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file=ann_file, split="xsub_train",
                 layout=layout, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=8, persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file=ann_file, split="xsub_val",
                 layout=layout, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type="AccMetric")
test_evaluator = val_evaluator
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
