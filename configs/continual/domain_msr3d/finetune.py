# MSR Action3D by subject groups: domain-incremental. The 10 subjects form 5 tasks of 2
# ({1,2}, {3,4}, ..., {9,10}); every task holds all 20 actions performed by its two subjects.
# Protocol: each subject performed each action 2-3 times (file suffix e01..e03); a task trains
# on executions 1 and 2 of its subjects and is tested on execution 3 of the same subjects, so
# R[i][j] measures the model on the people of task j after task i (a test on other subjects
# would measure cross-subject generalisation, the same for every task, not the task's domain).
# One head over the 20 actions, no task identity; every task is also evaluated before it is
# trained (forward transfer). ST-GCN (32 base channels), SGD 0.05, 30 epochs per task as
# split_msr3d. This file is the fine-tuning lower bound.
_base_ = ["../split_msr3d/finetune.py"]

train_cfg = dict(scenario=dict(_delete_=True, type="domain", key="subject",
                               groups=[[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]))
train_dataloader = dict(dataset=dict(
    _delete_=True, type="SampleFilter", key="execution", values=[1, 2],
    dataset=dict(type="MSRAction3D", data_root=_base_.data_root, split="all"),
    pipeline=_base_.train_pipeline))
val_dataloader = dict(dataset=dict(
    _delete_=True, type="SampleFilter", key="execution", values=[3],
    dataset=dict(type="MSRAction3D", data_root=_base_.data_root, split="all"),
    pipeline=[dict(step, num_clips=1) if step.type == "UniformSampleFrames" else step
              for step in _base_.test_pipeline]))
