# Split digits: scikit-learn's handwritten digits in 5 tasks of 2 classes (seeded class
# order), SmallCNN, class-incremental (no task identity at test time). This file is the
# fine-tuning lower bound; the other files of the folder change only the strategy.
#
# The continual loop evaluates every seen task on the test split after each task and writes
# continual_results.json + accuracy_matrix.png to the work dir; there is no separate final
# test (test_dataloader = None), and task checkpoints task_<k>.pth replace mmengine's epoch
# checkpoints (`--resume` continues at the next task).
_base_ = ["../../image/smallcnn_digits.py"]

train_cfg = dict(
    _delete_=True,
    type="ContinualTrainLoop",
    epochs_per_task=5,
    scenario=dict(num_tasks=5, seed=0),
    strategy=dict(type="FineTune"),
    # the digits pipeline only packs the 8x8 image: pack each sample once, batches are then
    # slices of two tensors (identical results, see ContinualTrainLoop's docstring)
    cache_inputs=True,
)
test_dataloader = None
test_evaluator = None
test_cfg = None
default_hooks = dict(checkpoint=None, logger=dict(type="LoggerHook", interval=50))
