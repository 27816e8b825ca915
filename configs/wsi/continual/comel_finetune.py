# Continual whole-slide MIL on the synthetic two-task cohort (class-incremental, one slide
# cohort per task, as in CoMEL's code: task t brings classes 2t "normal" and 2t+1 "tumour"
# and the classifier grows; no task identity at test time):
#   uv run tools/wsi/make_demo_data.py data/wsi_synthetic_tasks --tasks ihc he --num-slides 16
#   uv run tools/train.py configs/wsi/continual/comel_finetune.py
# Task t1: IHC-stained slides with a dense-DAB tumour; t2: the same real texture re-mixed to
# an H&E-like stain with a crowded-nuclei tumour (zoo.datasets.wsi.synthetic). 10 train and
# 6 test slides per task. This file is CoMEL fine-tuned task after task with its own loss
# (bag CE + BPPL): the forgetting lower bound. comel_owlora.py and abmil_er.py change the
# model / strategy. Results: continual_results.json (bag-level accuracy matrices, forgetting,
# and metric_matrices with MILMetric's tile-level AUC per task) in the work dir.
_base_ = ["../../_base_/default_runtime.py"]
data_root = "{{$ZOO_WSI_TASKS_DATA:data/wsi_synthetic_tasks}}"  # env var overrides
feature_dir = data_root + "/features"
label_csv = data_root + "/slides/labels.csv"
annotation_dir = data_root + "/slides/annotations"

model = dict(type="CoMEL", in_dim=128, embed_dim=128, num_heads=4, region_size=4,
             num_layers=2, num_classes=2, dropout=0.1, trans_dropout=0.1, attn_dim=64,
             bppl_weight=1.0, tumour_classes=(1, 3), owlora=False)


def _tasks(split):
    return dict(type="TaskSequenceDataset", task_names=["t1", "t2"], datasets=[
        dict(type="WSIBagDataset", feature_dir=feature_dir, label_csv=label_csv, split=split,
             task=task, annotation_dir=annotation_dir, test_mode=split == "test")
        for task in ("t1", "t2")])


train_dataloader = dict(
    batch_size=1, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=True),
    collate_fn=dict(type="pseudo_collate"), dataset=_tasks("train"))
val_dataloader = dict(
    batch_size=1, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=False),
    collate_fn=dict(type="pseudo_collate"), dataset=_tasks("test"))
val_evaluator = dict(type="MILMetric")
val_cfg = dict(type="ValLoop")
train_cfg = dict(type="ContinualTrainLoop", epochs_per_task=15,
                 scenario=dict(task_datasets=True), strategy=dict(type="MILFineTune"),
                 eval_metric=dict(type="MILMetric"))
optim_wrapper = dict(optimizer=dict(type="Adam", lr=2e-3, weight_decay=1e-4))
test_dataloader = None
test_evaluator = None
test_cfg = None
default_hooks = dict(checkpoint=None, logger=dict(type="LoggerHook", interval=20))
