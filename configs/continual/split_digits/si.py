# Split digits, synaptic intelligence. c (lambda_) = 1 and xi = 0.1 are not tuned.
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="SI", lambda_=1.0, xi=0.1))
