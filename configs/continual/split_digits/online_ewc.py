# Split digits, online EWC (gamma 0.9); lambda_ 1e4 as ./ewc.py (not re-tuned).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="OnlineEWC", lambda_=1e4, gamma=0.9))
