# Split MSR Action3D, DER++ with a 40-sample buffer (alpha 0.1, beta 0.5).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="DERPP", buffer_size=40, alpha=0.1, beta=0.5))
