# Split MSR Action3D, synaptic intelligence; c (lambda_) = 1 and xi = 0.1 as on split digits
# (not tuned on MSR).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="SI", lambda_=1.0, xi=0.1))
