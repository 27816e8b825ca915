# Continual whole-slide MIL, the CoMEL protocol (docs/wsi.md section 6): three synthetic
# "organ" cohorts, one per task, each tumour vs normal; class-incremental (task t brings
# classes 2t "normal" and 2t+1 "tumour", the classifier grows, earlier classes' rows stay
# fixed as the CoMEL code's frozen per-task heads, no task identity at test time; bag
# accuracy is the arg-max over all classes seen). Data (once, ~10 min on one core):
#   uv run tools/wsi/make_demo_data.py data/wsi_synthetic_organs --tasks glands nuclei strands \
#       --num-slides 64 --test-fraction 0.375 --val-fraction 0.125
#   uv run tools/train.py configs/wsi/continual/comel_bppl_finetune.py
# Per task 32 train / 8 val / 24 test slides. This file is CoMEL (GDAT + BPPL) fine-tuned
# task after task with its own loss ("cdatmil_ppl_ft" in the CoMEL code), the lower bound of
# CoMEL + OWLoRA; the other configs here change the model / strategy. Schedule: Adam,
# cosine over each task's 40 epochs (upstream: Adam 1e-4, cosine over 100 epochs per task on
# 5 cohorts of 1024-d UNI features); 40 epochs at 5e-4 converge on every single task here
# (validation split, benchmarks/results/wsi_continual_organs.md). Results:
# continual_results.json in the work dir (accuracy matrices, forgetting, and MILMetric's
# bag AUC, tile AUC and Dice per task after each task in metric_matrices).
_base_ = ["../../_base_/default_runtime.py"]
data_root = "{{$ZOO_WSI_TASKS_DATA:data/wsi_synthetic_organs}}"  # env var overrides
feature_dir = data_root + "/features"
label_csv = data_root + "/slides/labels.csv"
annotation_dir = data_root + "/slides/annotations"
# ZOO_WSI_TASKS=t1 trains one task (the single-task convergence check)
tasks = "{{$ZOO_WSI_TASKS:t1,t2,t3}}".split(",")
# evaluation split: ZOO_WSI_EVAL_SPLIT=val chooses epochs / learning rates without the test slides
eval_split = "{{$ZOO_WSI_EVAL_SPLIT:test}}"
epochs_per_task = 40

# tau=0.5: the CoMEL trainer's BPPL quality scale (tau2 = 0.5 (1 + 0.5 quality)).
model = dict(type="CoMEL", in_dim=128, embed_dim=128, num_heads=4, region_size=4,
             num_layers=2, num_classes=2, dropout=0.1, trans_dropout=0.1, attn_dim=64,
             bppl_weight=1.0, tau=0.5, tumour_classes=(1, 3, 5), owlora=False)


def _tasks(split):
    return dict(type="TaskSequenceDataset", task_names=tasks, datasets=[
        dict(type="WSIBagDataset", feature_dir=feature_dir, label_csv=label_csv, split=split,
             task=task, annotation_dir=annotation_dir, test_mode=split != "train")
        for task in tasks])


train_dataloader = dict(
    batch_size=1, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=True),
    collate_fn=dict(type="pseudo_collate"), dataset=_tasks("train"))
val_dataloader = dict(
    batch_size=1, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=False),
    collate_fn=dict(type="pseudo_collate"), dataset=_tasks(eval_split))
val_evaluator = dict(type="MILMetric")
val_cfg = dict(type="ValLoop")
train_cfg = dict(type="ContinualTrainLoop", epochs_per_task=epochs_per_task,
                 scenario=dict(task_datasets=True), strategy=dict(type="MILFineTune"),
                 eval_metric=dict(type="MILMetric"))
optim_wrapper = dict(optimizer=dict(type="Adam", lr=5e-4, weight_decay=1e-5))
param_scheduler = [dict(type="CosineAnnealingLR", T_max=epochs_per_task, by_epoch=True,
                        begin=0, end=epochs_per_task, eta_min=0.0)]
test_dataloader = None
test_evaluator = None
test_cfg = None
default_hooks = dict(checkpoint=None, logger=dict(type="LoggerHook", interval=50))
