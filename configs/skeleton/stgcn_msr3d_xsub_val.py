# ST-GCN on MSR Action3D, validation protocol: trains on training subjects 1, 3, 5, 7 and
# evaluates on the held-out training subject 9 (val AND test loader: the even test subjects
# are not read). Used to choose hyper-parameters without the test split, e.g. the unlearning
# settings of benchmarks/unlearning_select.py. Model, schedule and pipelines as
# ./stgcn_msr3d_xsub.py; the subjects come from ../_base_/datasets/msr3d_xsub_val.py.
_base_ = ["../_base_/default_runtime.py", "../_base_/datasets/msr3d_xsub_val.py",
          "../_base_/schedules/sgd_cosine_80e.py", "../_base_/models/stgcn_msr3d.py"]

default_hooks = dict(checkpoint=dict(type="CheckpointHook", interval=10, max_keep_ckpts=2))
test_dataloader = dict(dataset=dict(_delete_=True, **_base_.val_dataloader.dataset))
