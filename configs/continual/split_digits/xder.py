# Split digits, X-DER (mammoth's xder variant): 200-sample class-balanced buffer
# filled at task ends, logits over all 10 classes with the future-past logit update.
# alpha 0.3, beta 0.8: mammoth's values (models/config/xder.yaml, seq-cifar100, buffer 500;
# there are none for MNIST); gamma 0.85, eta 0.1, m 0.3, SupCon temperature 5 with 2 views:
# mammoth's defaults. lambd = 0 (the SupCon consistency switched off): chosen on
# the validation fold over {0, 0.1} (./xder_val.py; benchmarks/results/continual_digits_new_val.md;
# 92.0 +- 2.7 vs 91.3 +- 6.2, within the seed spread).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="XDER", buffer_size=200, alpha=0.3, beta=0.8,
                               gamma=0.85, lambd=0.0, eta=0.1, m=0.3))
