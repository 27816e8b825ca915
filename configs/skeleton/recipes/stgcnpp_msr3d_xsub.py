# STGCN++ (PYSKL, Duan et al., ACM MM 2022: PysklSTGCN with gcn_adaptive='init',
# gcn_with_res=True, tcn_type='mstcn' on the 'spatial' graph) on MSR Action3D cross-subject,
# joint stream (issue 22), tuning protocol of ./stgcn_msr3d_xsub.py (train subjects 1, 3, 5, 7;
# validate on subject 9). PYSKL's recipe (configs/stgcn++/stgcn++_ntu60_xsub_3dkp/j.py): SGD
# + Nesterov, weight decay 5e-4, cosine annealing over 80 epochs. Adapted as
# ./stgcn_pyskl_msr3d_xsub.py: width 32, one person, head dropout 0.3, 5 warm-up epochs and
# the learning rate chosen for ./stgcn_msr3d_xsub.py (not selected again for this variant).
# Final run (report the test split once):
#   --cfg-options "train_dataloader.dataset.values=[1,3,5,7,9]"
_base_ = ["./stgcn_msr3d_xsub.py"]

model = dict(
    type="SkeletonRecognizer",
    backbone=dict(_delete_=True, type="PysklSTGCN",
                  graph_cfg=dict(layout=_base_.layout, mode="spatial"), base_channels=32,
                  num_person=1, gcn_adaptive="init", gcn_with_res=True, tcn_type="mstcn"),
    cls_head=dict(type="GCNHead", in_channels=128, num_classes=_base_.num_classes, dropout=0.3),
)
