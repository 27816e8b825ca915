# Split MSR Action3D, ER-ACE with the 40-sample reservoir buffer of ./er.py.
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="ERACE",
                               buffer=dict(type="reservoir", size=40)))
