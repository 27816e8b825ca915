# Semi-supervised fine-tuning with 1 % of the training labels: on MSR Action3D's ~280
# training clips that is one clip per class (label_fraction keeps at least one).
_base_ = ["stgcn_msr3d_semi10.py"]

train_dataloader = dict(dataset=dict(label_fraction=0.01))
