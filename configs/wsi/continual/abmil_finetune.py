# ABMIL (gated attention MIL) fine-tuned task after task ("attmil_ft" in the CoMEL code):
# the baseline without CoMEL's encoder, BPPL or OWLoRA. Data and schedule:
# comel_bppl_finetune.py.
#   uv run tools/train.py configs/wsi/continual/abmil_finetune.py
_base_ = ["./comel_bppl_finetune.py"]
model = dict(_delete_=True, type="ABMIL", in_dim=128, embed_dim=128, attn_dim=64,
             num_classes=2, dropout=0.1)
