# Online rotated digits with blurry boundaries, experience replay (200-sample reservoir, replay
# batch of 10 per step).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="ER", buffer=dict(type="reservoir", size=200)))
