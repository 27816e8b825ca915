# Split digits, SimpleCIL: prototype classifier on a frozen backbone. No digits-pretrained zoo
# backbone exists, so the SmallCNN keeps its random initial weights (a lower reference for
# the prototype classifier; with a pretrained backbone set load_from).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="SimpleCIL"))
