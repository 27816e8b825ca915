# CoMEL + OWLoRA on the two-task synthetic WSI cohort (see comel_finetune.py for the data):
# task 1 trains the whole model; from task 2 the base weights freeze and each Linear (but the
# classifier) gets a new rank-8 weighted LoRA kept orthogonal to the earlier ones; the rows
# of the earlier classes of the classifier stay fixed (as the CoMEL code's frozen heads).
#   uv run tools/train.py configs/wsi/continual/comel_owlora.py
_base_ = ["./comel_finetune.py"]
model = dict(owlora=True, lora_rank=8, lambda_ortho=1.0)
train_cfg = dict(strategy=dict(_delete_=True, type="OWLoRA", freeze_old_classes=True))
