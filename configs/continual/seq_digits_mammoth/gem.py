# Mammoth protocol on split digits: GEM, 200-sample episodic memory (40 per task), dual QP.
# Mammoth best_args seq-cifar10 'gem' at 200: lr 0.03, gamma 0.5 (the QP margin).
_base_ = ["./sgd.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="GEM", memory_size=200, margin=0.5, eps=1e-3))
optim_wrapper = dict(optimizer=dict(lr=0.03))
