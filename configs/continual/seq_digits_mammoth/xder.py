# Mammoth protocol on split digits: X-DER (Boschini et al., TPAMI 2022), 200-sample buffer.
# Mammoth has no seq-cifar10 values for xder; these are its smallest-buffer values
# (utils/best_args.py, seq-cifar100, buffer 500): lr 0.03, alpha 0.3, beta 0.8, gamma 0.85,
# lambd 0.05, eta 0.001, m 0.7, simclr_temp 5, simclr_batch_size 64, simclr_num_aug 2.
# Departures: no lr schedule (seq-cifar100 has milestones 35/45, seq-cifar10 none); the
# zoo's X-DER departures (docs/continual.md).
_base_ = ["./sgd.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="XDER", buffer_size=200, alpha=0.3, beta=0.8,
                               gamma=0.85, lambd=0.05, eta=0.001, m=0.7, simclr_temp=5.0,
                               simclr_batch_size=64, simclr_num_aug=2, replay_batch_size=32))
optim_wrapper = dict(optimizer=dict(lr=0.03))
