# Ensem-NN (Xu & Wang 2018): four residual 1-D CNN sub-networks (two-stream, body-part,
# attention, frame-difference), late fusion by the mean of their softmax scores, on real
# MSR Action3D skeletons, cross-subject (odd subjects train, even test).
# Each sub-network has its own cross-entropy (EnsembleCNN1DRecognizer), as in the paper
# (model: ../_base_/models/ensemnn_msr3d.py, half the paper's widths).
# Data: ../_base_/datasets/msr3d_xsub.py without the stream step (the network takes raw joints)
# and with stronger rotation; 40 epochs with 3 warm-up epochs.
# Recipe tuned on a held-out training subject: ./recipes/ensemnn_msr3d_xsub.py.
_base_ = ["../_base_/default_runtime.py", "../_base_/datasets/msr3d_xsub.py",
          "../_base_/schedules/sgd_cosine_40e.py", "../_base_/models/ensemnn_msr3d.py"]

train_pipeline = [dict(step, theta=0.3) if step.type == "RandomRot" else step
                  for step in _base_.train_pipeline if step.type != "GenSkeFeat"]
test_pipeline = [step for step in _base_.test_pipeline if step.type != "GenSkeFeat"]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
default_hooks = dict(checkpoint=dict(type="CheckpointHook", interval=10, max_keep_ckpts=2))
