# Split digits, holistic PCR with a 200-sample buffer (official CIFAR-10 weights).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="HPCR", buffer_size=200, pcd_alpha=0.01,
                               scd_beta=0.5))
