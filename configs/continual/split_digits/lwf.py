# Split digits, Learning without Forgetting (T = 2).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="LwF", alpha=1.0, temperature=2.0))
