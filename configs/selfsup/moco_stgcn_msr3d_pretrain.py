# Plain MoCo (SkeletonMoCo's objective) on MSR Action3D: HaLP's config with the
# hallucination off, i.e. HaLP's base model with the same encoder, views, queue and schedule.
_base_ = ["halp_stgcn_msr3d_pretrain.py"]

model = dict(hallucinate=False)
