# MSR Action3D by subject groups, experience replay with a 40-sample reservoir buffer.
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="ER", buffer=dict(type="reservoir", size=40)))
