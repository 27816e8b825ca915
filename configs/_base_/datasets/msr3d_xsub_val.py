# MSR Action3D cross-subject, validation protocol for tuning a recipe without the test split
# (issue 22): training subjects 1, 3, 5, 7 train, held-out training subject 9 validates
# (val_dataloader, checked every val_interval); the test subjects (even) are only in
# test_dataloader, which stays the cross-subject test split of ./msr3d_xsub.py.
# Both loaders wrap the data set in SampleFilter(key="subject"); a recipe still sets
# train_dataloader = dict(dataset=dict(pipeline=...)) as for ./msr3d_xsub.py (SampleFilter
# passes its pipeline to the inner data set).
# Final run of a tuned recipe (report the test split once): train on every training subject,
#   --cfg-options "train_dataloader.dataset.values=[1,3,5,7,9]"
# (val_dataloader then only monitors a subject seen in training). Another data set: set
# dataset_type and the inner `dataset.dataset.type`/`data_root`, and `values` / `key` to its
# training subjects (tests/skeleton/test_msr3d_val_split.py checks MSR's on the file names).
_base_ = ["./msr3d_xsub.py"]

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
