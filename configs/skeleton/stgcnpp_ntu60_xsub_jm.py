# STGCN++, NTU-60 X-Sub 3-D, joint-motion stream: stgcnpp_ntu60_xsub_joint.py with GenSkeFeat
# feats=["jm"].
_base_ = ["stgcnpp_ntu60_xsub_joint.py"]

test_pipeline = [dict(step, feats=["jm"]) if step.type == "GenSkeFeat" else step
                 for step in _base_.test_pipeline]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
