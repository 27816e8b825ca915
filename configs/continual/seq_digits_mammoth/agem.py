# Mammoth protocol on split digits: A-GEM, 200-sample episodic memory (200 // 5 = 40 random
# samples stored at each task end, as Mammoth's models/agem.py), reference minibatch 32.
# Mammoth best_args seq-cifar10 'agem' at 200: lr 0.03, minibatch_size 32.
_base_ = ["./sgd.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="AGEM", memory_size=200, replay_batch_size=32))
optim_wrapper = dict(optimizer=dict(lr=0.03))
