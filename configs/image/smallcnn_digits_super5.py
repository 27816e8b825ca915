# The digits CNN trained on 5 super-classes of digit pairs ({0,1}, {2,3}, ..., {8,9}): the
# sub-class forgetting scenario (forget digit 3, keep its super-class through digit 2).
_base_ = ["./smallcnn_digits.py"]

groups = [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]
model = dict(cls_head=dict(num_classes=5))
train_dataloader = dict(dataset=dict(
    _delete_=True, type="SuperclassDataset", groups=groups,
    dataset=dict(type="Digits", split="train")))
val_dataloader = dict(dataset=dict(
    _delete_=True, type="SuperclassDataset", groups=groups,
    dataset=dict(type="Digits", split="test")))
test_dataloader = val_dataloader
