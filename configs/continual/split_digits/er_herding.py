# Split digits, experience replay with a class-balanced 200-sample herding memory.
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="ER", buffer=dict(type="herding", size=200)))
