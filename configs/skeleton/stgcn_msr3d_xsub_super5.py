# ST-GCN on MSR Action3D cross-subject with 5 super-classes of 4 consecutive actions
# (a01-a04, a05-a08, ..., a17-a20; a grouping by id, not by meaning): the sub-class
# forgetting scenario (forget one action, keep its group through the other three).
_base_ = ["./stgcn_msr3d_xsub.py"]

groups = [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15], [16, 17, 18, 19]]
model = dict(cls_head=dict(num_classes=5))
train_dataloader = dict(dataset=dict(
    _delete_=True, type="SuperclassDataset", groups=groups,
    dataset=dict(type=_base_.dataset_type, data_root=_base_.data_root, split="train",
                 pipeline=_base_.train_pipeline)))
val_dataloader = dict(dataset=dict(
    _delete_=True, type="SuperclassDataset", groups=groups,
    dataset=dict(type=_base_.dataset_type, data_root=_base_.data_root, split="test",
                 pipeline=_base_.test_pipeline)))
test_dataloader = val_dataloader
