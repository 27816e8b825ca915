# ABMIL with experience replay (reservoir memory of 4 slide bags, one replayed bag per step)
# on the two-task synthetic WSI cohort (see comel_finetune.py for the data).
#   uv run tools/train.py configs/wsi/continual/abmil_er.py
_base_ = ["./comel_finetune.py"]
model = dict(_delete_=True, type="ABMIL", in_dim=128, embed_dim=128, attn_dim=64,
             num_classes=2, dropout=0.1)
train_cfg = dict(strategy=dict(_delete_=True, type="ER",
                               buffer=dict(type="reservoir", size=4)))
