# PYSKL's ST-GCN (Duan et al., ACM MM 2022; the AAAI'18 network in PYSKL's generalised form,
# models/skeleton/stgcn_pyskl.py) on MSR Action3D cross-subject, joint stream (issue 22), tuning
# protocol of ./stgcn_msr3d_xsub.py (train subjects 1, 3, 5, 7; validate on subject 9).
# PYSKL's recipe (configs/stgcn/stgcn_pyskl_ntu60_xsub_3dkp/j.py): SGD + Nesterov, weight decay
# 5e-4, cosine annealing over 80 epochs, no dropout in the network. Adapted as the zoo's
# ST-GCN recipe: width 32 (32-64-128 channels instead of 64-128-256), one person, head
# dropout 0.3, 5 warm-up epochs and the learning rate chosen for ./stgcn_msr3d_xsub.py on the
# validation subject (not selected again for this variant).
# Final run (report the test split once):
#   --cfg-options "train_dataloader.dataset.values=[1,3,5,7,9]"
_base_ = ["./stgcn_msr3d_xsub.py"]

model = dict(
    type="SkeletonRecognizer",
    backbone=dict(_delete_=True, type="PysklSTGCN",
                  graph_cfg=dict(layout=_base_.layout, mode="stgcn_spatial"), base_channels=32,
                  num_person=1),
    cls_head=dict(type="GCNHead", in_channels=128, num_classes=_base_.num_classes, dropout=0.3),
)
