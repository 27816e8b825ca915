# CoMEL + OWLoRA ("cdatmil_ppl_owlora" in the CoMEL code): task 1 trains the whole model
# (GDAT + BPPL); from task 2 the base weights freeze and each Linear (but the classifier)
# gets a new rank-8 weighted LoRA kept orthogonal to the earlier ones (penalty weight 1,
# gradient and weight projection); the rows of the earlier classes of the classifier stay
# fixed. Data and schedule: comel_bppl_finetune.py.
#   uv run tools/train.py configs/wsi/continual/comel_owlora.py
_base_ = ["./comel_bppl_finetune.py"]
model = dict(owlora=True, lora_rank=8, lambda_ortho=1.0)
train_cfg = dict(strategy=dict(_delete_=True, type="OWLoRA", freeze_old_classes=True))
