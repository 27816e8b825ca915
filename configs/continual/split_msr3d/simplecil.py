# Split MSR Action3D, SimpleCIL: prototype classifier on a frozen backbone. No MSR-pretrained
# ST-GCN without the later tasks' labels exists, so the ST-GCN keeps its random initial weights
# (a lower reference for prototype classifiers; with a pretrained backbone set load_from).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="SimpleCIL"))
