# Split digits, task-incremental with one head per task (multi-head): the 10 digits in 5 tasks
# of 2 (the class order of split_digits), the task identity given at training and test time;
# a sample of task t is scored by task t's two logits only (softmax over them; the other heads
# get no gradient from it). All heads exist from the start, so every task is evaluated after
# each task and before the first: the accuracy matrix is task-aware and has forward transfer.
# Fine-tuning lower bound (FineTune, Joint and ER support the multi-head loss).
_base_ = ["../split_digits/finetune.py"]
train_cfg = dict(scenario=dict(_delete_=True, type="task", num_tasks=5, seed=0))
