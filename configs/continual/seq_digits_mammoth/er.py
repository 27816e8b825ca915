# Mammoth protocol on split digits: experience replay, 200-sample reservoir buffer, replay
# minibatch 32. Mammoth best_args seq-cifar10 'er' at 200: lr 0.1, minibatch_size 32 (128 in
# the first commit, corrected to 32 in d20f640 "fix minibatch sizes in best_args.py").
_base_ = ["./sgd.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="ER", buffer=dict(type="reservoir", size=200),
                               replay_batch_size=32))
optim_wrapper = dict(optimizer=dict(lr=0.1))
