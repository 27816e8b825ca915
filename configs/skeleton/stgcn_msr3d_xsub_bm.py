# ST-GCN on MSR Action3D cross-subject, one input stream; the rest as the joint config.
# Fuse the four streams: tools/test.py ... --dump STREAM.npz, then tools/ensemble.py (README).
_base_ = ["./stgcn_msr3d_xsub.py"]

stream = ["bm"]  # b: bone, jm: joint motion, bm: bone motion
train_pipeline = [dict(step, feats=stream) if step.type == "GenSkeFeat" else step
                  for step in _base_.train_pipeline]
test_pipeline = [dict(step, feats=stream) if step.type == "GenSkeFeat" else step
                 for step in _base_.test_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
