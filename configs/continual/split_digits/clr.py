# Split digits, channel-wise lightweight reprogramming of the SmallCNN trained on task 1.
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="CLR"))
