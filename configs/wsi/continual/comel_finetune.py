# CoMEL's GDAT encoder fine-tuned without BPPL ("cdatmil_ft" in the CoMEL code): bag
# cross-entropy only. Data and schedule: comel_bppl_finetune.py.
#   uv run tools/train.py configs/wsi/continual/comel_finetune.py
_base_ = ["./comel_bppl_finetune.py"]
model = dict(bppl_weight=0.0)
