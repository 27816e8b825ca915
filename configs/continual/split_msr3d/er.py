# Split MSR Action3D, experience replay with a 40-sample reservoir buffer (about 14% of the
# 284 training skeletons; 2 per class once all 20 actions are seen).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="ER", buffer=dict(type="reservoir", size=40)))
