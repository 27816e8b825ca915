# Split digits, DER++ with a 200-sample buffer. alpha 0.2, beta 1.0: the official values for
# the closest benchmark of the paper (mammoth utils/best_args.py, seq-mnist, buffer 200:
# 5 tasks x 2 MNIST digits); the previous 0.1 / 0.5 are mammoth's seq-cifar10 values. The head
# spans all 10 classes from task 1 (full_head=True, as in the paper; see zoo/continual/
# strategies/der.py).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="DERPP", buffer_size=200, alpha=0.2, beta=1.0))
