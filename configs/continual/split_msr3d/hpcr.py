# Split MSR Action3D, holistic PCR with a 40-sample buffer.
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="HPCR", buffer_size=40, pcd_alpha=0.01,
                               scd_beta=0.5))
