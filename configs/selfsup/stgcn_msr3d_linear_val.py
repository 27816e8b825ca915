# Linear evaluation, validation protocol: ./stgcn_msr3d_linear.py with the classifier trained
# on training subjects 1, 3, 5, 7 and evaluated on the held-out training subject 9 (val AND
# test loader), so a pre-training hyper-parameter (HaLP's mu, say) is chosen without the
# test subjects. The subjects are those of ../_base_/datasets/msr3d_xsub_val.py. tools/ssl_knn.py
# with this config gives the k-NN accuracy on the same split (memory bank: subjects 1-7).
_base_ = ["stgcn_msr3d_linear.py"]

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
