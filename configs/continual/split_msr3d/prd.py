# Split MSR Action3D, prototype-sample relation distillation (replay-free).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="PRD"))
