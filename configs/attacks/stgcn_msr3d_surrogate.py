# Second, narrower ST-GCN (base_channels=16, seed 1) on MSR Action3D: the other model of the
# attack benchmark (victim and transfer surrogate) when no CTR-GCN checkpoint is available.
_base_ = ["./stgcn_msr3d_victim.py"]

model = dict(backbone=dict(base_channels=16), cls_head=dict(in_channels=64))
randomness = dict(seed=1, deterministic=False)
