# Split digits, multi-head task-incremental, experience replay (200-sample reservoir buffer;
# each replayed sample is scored by its own task's head).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="ER", buffer=dict(type="reservoir", size=200)))
