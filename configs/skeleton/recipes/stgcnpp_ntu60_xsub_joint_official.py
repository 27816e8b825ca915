# STGCN++, the published training recipe (Duan et al., ACM MM 2022; PYSKL
# configs/stgcn++/stgcn++_ntu60_xsub_3dkp/j.py, MMAction2 1.x
# configs/skeleton/stgcnpp/stgcnpp_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d.py): the
# schedule and data pipeline of ./stgcn_pyskl_ntu60_xsub_joint_official.py (batch 128, SGD lr
# 0.1 Nesterov, weight decay 5e-4, cosine over 80 epochs, 100 uniformly sampled frames, 10 test
# clips) with the STGCN++ network (gcn_adaptive='init', gcn_with_res=True, tcn_type='mstcn',
# 'spatial' graph; ../stgcnpp_ntu60_xsub_joint.py).
# Targets the MMAction2 1.x NTU RGB+D 60 X-Sub 3-D joint checkpoint: 89.14 % top-1 (10 clips).
_base_ = ["./stgcn_pyskl_ntu60_xsub_joint_official.py"]

published = dict(dataset="NTU RGB+D 60 X-Sub", stream="joint", top1=89.14,
                 source="MMAction2 1.x configs/skeleton/stgcnpp README")
model = dict(backbone=dict(graph_cfg=dict(mode="spatial"), gcn_adaptive="init",
                           gcn_with_res=True, tcn_type="mstcn"))
