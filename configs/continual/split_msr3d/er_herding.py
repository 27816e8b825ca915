# Split MSR Action3D, experience replay with a class-balanced 40-sample herding memory.
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="ER", buffer=dict(type="herding", size=40)))
