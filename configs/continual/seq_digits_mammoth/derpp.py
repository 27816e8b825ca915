# Mammoth protocol on split digits: DER++, 200-sample reservoir buffer, two replay minibatches
# of 32. Mammoth best_args seq-cifar10 'derpp' at 200: lr 0.03, alpha 0.1, beta 0.5. Full
# 10-output head from task 1 (as Mammoth). Departure: the batch and both minibatches go
# through the network in one forward pass (the zoo default; Mammoth: three passes).
_base_ = ["./sgd.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="DERPP", buffer_size=200, alpha=0.1, beta=0.5,
                               replay_batch_size=32))
optim_wrapper = dict(optimizer=dict(lr=0.03))
