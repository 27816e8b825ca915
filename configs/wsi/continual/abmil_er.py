# ABMIL with experience replay: a reservoir memory of 10 whole slide bags, one replayed bag
# beside each current bag (as comel_er.py). Data and schedule: comel_bppl_finetune.py.
#   uv run tools/train.py configs/wsi/continual/abmil_er.py
_base_ = ["./abmil_finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="MILReplay",
                               buffer=dict(type="reservoir", size=10)))
