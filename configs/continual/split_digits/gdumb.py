# Split digits, GDumb: a 200-sample greedy class-balanced memory; the model is retrained from
# its initial weights on the memory alone at every task (5 epochs, as the other rows).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="GDumb", memory_size=200))
