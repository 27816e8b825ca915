# Split digits, memory aware synapses. lambda_ = 1 is not tuned.
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="MAS", lambda_=1.0))
