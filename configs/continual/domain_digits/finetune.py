# Rotated digits: domain-incremental. Every task holds all 10 classes of scikit-learn's digits,
# rotated by the task's angle (0, 45, 90, 135, 180 degrees, counter-clockwise; train and test
# images alike), as rotated MNIST (Lopez-Paz & Ranzato 2017). One head over the 10 classes,
# no task identity; R[i][j] = accuracy on the test images rotated by angle j after task i.
# Every task is also evaluated before it is trained (and all tasks with the random-init model)
# so continual_results.json has forward transfer. This file is the fine-tuning lower bound.
_base_ = ["../../image/smallcnn_digits.py"]

train_cfg = dict(
    _delete_=True,
    type="ContinualTrainLoop",
    epochs_per_task=5,
    scenario=dict(type="domain", rotations=[0, 45, 90, 135, 180]),
    strategy=dict(type="FineTune"),
    # each domain's images rotated and packed once (the rotation is fixed per domain):
    # identical results, see benchmarks/results/continual_cache_equivalence.md
    cache_inputs=True,
)
test_dataloader = None
test_evaluator = None
test_cfg = None
default_hooks = dict(checkpoint=None, logger=dict(type="LoggerHook", interval=50))
