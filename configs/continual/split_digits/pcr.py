# Split digits, proxy-based contrastive replay with a 200-sample buffer.
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="PCR", buffer_size=200))
