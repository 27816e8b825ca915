# Split digits, k-FPF-KD: SGD without replay, 10 fine-tunings of BN + FC + first conv on a
# 200-sample buffer over the run (and one after each task).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="KFPF", buffer_size=200, k=10, fpf_steps=20,
                               fpf_lr=0.05, kd_alpha=0.5))
