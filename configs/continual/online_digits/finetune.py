# Online rotated digits: the domain-incremental stream of ../domain_digits seen once (one epoch
# per task, batch size 10), with blurry task boundaries: 10 % of every task's training images
# (seeded by the run seed) are held back and arrive in the next task's stream, mixed with it
# (zoo/continual/stream.py). Fine-tuning lower bound.
_base_ = ["../domain_digits/finetune.py"]
train_dataloader = dict(batch_size=10)
train_cfg = dict(epochs_per_task=1, blurry=0.1)
default_hooks = dict(logger=dict(interval=200))
