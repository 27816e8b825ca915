# Split MSR Action3D, DER++ with a 40-sample buffer (alpha 0.1, beta 0.5: mammoth's
# seq-cifar10 values for its smallest buffer; no official values exist for skeletons). The head
# spans all 20 actions from task 1 (full_head=True, as in the paper).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="DERPP", buffer_size=40, alpha=0.1, beta=0.5))
