# Split MSR Action3D, proxy-based contrastive replay with a 40-sample buffer.
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="PCR", buffer_size=40))
