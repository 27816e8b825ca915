# Mammoth protocol on split digits: iCaRL, 200 herding exemplars, nearest-mean-of-exemplars
# classifier, sigmoid BCE with distillation. Mammoth best_args seq-cifar10 'icarl' at 200:
# lr 0.1, minibatch_size 0 (the exemplars join the training set), softmax_temp 2,
# wd_reg 1e-5. Mammoth adds wd_reg * sum(w^2) to the loss (models/icarl.py), whose gradient is
# 2e-5 * w: SGD weight_decay 2e-5 here is the same update.
_base_ = ["./sgd.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="ICaRL", memory_size=200))
optim_wrapper = dict(optimizer=dict(lr=0.1, weight_decay=2e-5))
