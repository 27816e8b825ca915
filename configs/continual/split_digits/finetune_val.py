# Split digits, validation protocol for choosing a strategy's hyper-parameters without the
# test split: train on folds 1-4 of the training split (1077 images) and evaluate the accuracy
# matrix on the held-out fold 0 (270 images, stratified; Digits(num_folds=5)). The test split
# is not read. Same model, optimizer, epochs and task order as ./finetune.py. This file is the
# fine-tuning reference of the protocol; ./ewc_val.py changes only the strategy.
_base_ = ["./finetune.py"]

train_folds = [1, 2, 3, 4]
val_folds = [0]
train_dataloader = dict(dataset=dict(
    _delete_=True, type="SampleFilter", key="fold", values=train_folds,
    dataset=dict(type="Digits", split="train")))
val_dataloader = dict(dataset=dict(
    _delete_=True, type="SampleFilter", key="fold", values=val_folds,
    dataset=dict(type="Digits", split="train")))
