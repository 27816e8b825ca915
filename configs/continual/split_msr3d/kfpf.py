# Split MSR Action3D, k-FPF-KD: SGD without replay, 10 fine-tunings of the BN layers, the first
# convolution and the classifier on a 40-sample buffer (and one after each task).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="KFPF", buffer_size=40, k=10, fpf_steps=20,
                               fpf_lr=0.05, kd_alpha=0.5))
