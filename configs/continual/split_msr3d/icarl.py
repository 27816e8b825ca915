# Split MSR Action3D, iCaRL with 40 exemplars.
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="ICaRL", memory_size=40))
