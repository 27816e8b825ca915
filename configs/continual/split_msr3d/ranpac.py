# Split MSR Action3D, RanPAC: 1000-d random ReLU projection of the frozen backbone's embedding
# and a ridge read-out (lambda chosen per task on a 20 % hold-out of the task's training
# features). Random frozen ST-GCN, as ./simplecil.py.
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="RanPAC", projection_dim=1000))
