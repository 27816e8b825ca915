# Semi-supervised fine-tuning with 1 % of the training labels: on MSR Action3D's ~280
# training clips that is one clip per class, 20 clips (label_fraction keeps at least one;
# 10 % is 36 clips).
_base_ = ["stgcn_msr3d_semi10.py"]

train_dataloader = dict(dataset=dict(label_fraction=0.01))
