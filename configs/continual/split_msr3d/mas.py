# Split MSR Action3D, memory aware synapses; lambda_ = 1 as on split digits (not tuned on MSR).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="MAS", lambda_=1.0))
