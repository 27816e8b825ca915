# ST-GCN on MSR Action3D, validation protocol: trains on training subjects 1, 3, 5, 7 and
# evaluates on the held-out training subject 9 (val AND test loader: the even test subjects
# are not read). Used to choose hyper-parameters without the test split, e.g. the unlearning
# settings of benchmarks/unlearning_select.py. Model, schedule and pipelines as
# ./stgcn_msr3d_xsub.py.
_base_ = ["./stgcn_msr3d_xsub.py"]

train_subjects = [1, 3, 5, 7]
val_subjects = [9]
train_dataloader = dict(dataset=dict(
    _delete_=True, type="SampleFilter", key="subject", values=train_subjects,
    pipeline=_base_.train_pipeline,
    dataset=dict(type=_base_.dataset_type, data_root=_base_.data_root, split="train")))
val_dataloader = dict(dataset=dict(
    _delete_=True, type="SampleFilter", key="subject", values=val_subjects,
    pipeline=_base_.test_pipeline,
    dataset=dict(type=_base_.dataset_type, data_root=_base_.data_root, split="train")))
test_dataloader = val_dataloader
