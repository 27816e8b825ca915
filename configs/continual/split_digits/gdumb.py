# Split digits, GDumb: a 200-sample greedy class-balanced memory; the model is retrained from
# its initial weights on the memory alone at every task. 50 epochs per task on the memory
# (160 steps of 64; the paper trains to convergence): at the 5 epochs of the other rows the
# 20 steps from scratch underfit (22.2 % average accuracy, seed 0). The stream itself is
# only read to fill the memory.
_base_ = ["./finetune.py"]
train_cfg = dict(epochs_per_task=50,
                 strategy=dict(_delete_=True, type="GDumb", memory_size=200))
