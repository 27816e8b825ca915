# Split MSR Action3D, validation protocol for choosing a strategy's hyper-parameters without
# the test split: train on training subjects 1, 3, 5 (173 sequences) and evaluate the accuracy
# matrix on the held-out training subjects 7, 9 (119 sequences). The test subjects (even) are
# not read. Same model, optimizer, schedule and task order as ./finetune.py. This file is the
# fine-tuning reference of the protocol; ./ewc_proximal_val.py changes only the strategy.
_base_ = ["./finetune.py"]

train_subjects = [1, 3, 5]
val_subjects = [7, 9]
train_dataloader = dict(dataset=dict(
    _delete_=True, type="SampleFilter", key="subject", values=train_subjects,
    dataset=dict(type="MSRAction3D", data_root=_base_.data_root, split="train",
                 pipeline=_base_.train_pipeline)))
val_dataloader = dict(dataset=dict(
    _delete_=True, type="SampleFilter", key="subject", values=val_subjects,
    dataset=dict(type="MSRAction3D", data_root=_base_.data_root, split="train",
                 pipeline=_base_.val_dataloader.dataset.pipeline)))  # one test clip
