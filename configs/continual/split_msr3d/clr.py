# Split MSR Action3D, channel-wise lightweight reprogramming of the ST-GCN trained on task 1
# (1x1 convolutions get a per-channel scale, the (9, 1) temporal ones a (3, 1) depth-wise conv).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="CLR"))
