# ST-GCN on real MSR Action3D skeletons, cross-subject (odd subjects train, even test).
# Data and pipeline: ../_base_/datasets/msr3d_xsub.py (set data_root there or with
# --cfg-options); model: ../_base_/models/stgcn_msr3d.py; schedule:
# ../_base_/schedules/sgd_cosine_80e.py.
# Other input streams: stgcn_msr3d_xsub_{b,jm,bm}.py.
_base_ = ["../_base_/default_runtime.py", "../_base_/datasets/msr3d_xsub.py",
          "../_base_/schedules/sgd_cosine_80e.py", "../_base_/models/stgcn_msr3d.py"]

default_hooks = dict(checkpoint=dict(type="CheckpointHook", interval=10, max_keep_ckpts=2))
