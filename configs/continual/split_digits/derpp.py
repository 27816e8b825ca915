# Split digits, DER++ with a 200-sample buffer (alpha 0.1, beta 0.5).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="DERPP", buffer_size=200, alpha=0.1, beta=0.5))
