# CTR-GCN (PYSKL), NTU-120 X-Sub 3-D, bone-motion stream: ctrgcn_ntu120_xsub_joint.py with
# GenSkeFeat feats=["bm"].
_base_ = ["ctrgcn_ntu120_xsub_joint.py"]

test_pipeline = [dict(step, feats=["bm"]) if step.type == "GenSkeFeat" else step
                 for step in _base_.test_pipeline]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
