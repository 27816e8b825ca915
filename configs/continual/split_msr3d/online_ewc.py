# Split MSR Action3D, online EWC (gamma 0.9) with the proximal penalty step and lambda_ 1e5 of
# ./ewc.py (chosen there on held-out training subjects; not re-tuned for the online variant).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="OnlineEWC", lambda_=1e5, gamma=0.9,
                               penalty_step="proximal"))
