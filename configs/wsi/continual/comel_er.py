# CoMEL (GDAT + BPPL) with experience replay ("cdatmil_ppl_er" in the CoMEL code): a
# reservoir memory of whole slide bags, one replayed bag beside each current bag, both
# through CoMEL's own loss. Memory 10 bags (upstream 30 of ~500 training slides; here 96
# training slides in all, so 10 keeps a similar share). Data and schedule:
# comel_bppl_finetune.py.
#   uv run tools/train.py configs/wsi/continual/comel_er.py
_base_ = ["./comel_bppl_finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="MILReplay",
                               buffer=dict(type="reservoir", size=10)))
