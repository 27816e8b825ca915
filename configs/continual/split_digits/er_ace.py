# Split digits, ER-ACE with a 200-sample reservoir buffer (the buffer of ./er.py).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="ERACE",
                               buffer=dict(type="reservoir", size=200)))
