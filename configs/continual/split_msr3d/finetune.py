# Split MSR Action3D: the 20 actions in 5 tasks of 4 (seeded order), ST-GCN (32 base channels),
# cross-subject, class-incremental. This file is the fine-tuning lower bound; the other files
# of the folder change only the strategy.
#
# Each task trains `epochs_per_task` epochs with a fresh SGD and a cosine schedule over the
# task. The loop evaluates all seen tasks on the test subjects after each task and writes
# continual_results.json + accuracy_matrix.png; there is no separate final test (no
# test_dataloader); task checkpoints task_<k>.pth replace the epoch checkpoints.
_base_ = ["../../skeleton/stgcn_msr3d_xsub.py"]

epochs_per_task = 30
train_cfg = dict(
    _delete_=True,
    type="ContinualTrainLoop",
    epochs_per_task=epochs_per_task,
    scenario=dict(num_tasks=5, seed=0),
    strategy=dict(type="FineTune"),
)
param_scheduler = [
    dict(type="CosineAnnealingLR", T_max=epochs_per_task, by_epoch=True, begin=0,
         end=epochs_per_task, eta_min=1e-4),
]
# One test clip instead of the base config's 10: the accuracy matrix needs 15 evaluations of
# the seen test classes per run, and ten clips made evaluation dominate the run time.
val_dataloader = dict(dataset=dict(pipeline=[
    dict(step, num_clips=1) if step.type == "UniformSampleFrames" else step
    for step in _base_.test_pipeline]))
test_dataloader = None
test_evaluator = None
test_cfg = None
default_hooks = dict(checkpoint=None, logger=dict(type="LoggerHook", interval=50))
