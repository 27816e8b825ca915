# Mammoth protocol on split digits: DER (DER++ with beta = 0), 200-sample reservoir buffer of
# inputs and logits, replay minibatch 32. Mammoth best_args seq-cifar10 'der' at 200:
# lr 0.03, alpha 0.3. Full 10-output head from task 1 (as Mammoth).
_base_ = ["./sgd.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="DERPP", buffer_size=200, alpha=0.3, beta=0.0,
                               replay_batch_size=32))
optim_wrapper = dict(optimizer=dict(lr=0.03))
