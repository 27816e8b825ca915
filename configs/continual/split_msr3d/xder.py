# Split MSR Action3D, X-DER (mammoth's xder variant): 40-sample class-balanced buffer filled at
# task ends, logits over all 20 actions; alpha 0.3, beta 0.8, gamma 0.85, eta 0.1, m 0.3 and
# lambd 0 as ../split_digits/xder.py (lambd chosen on the digits validation fold; not re-tuned).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="XDER", buffer_size=40, alpha=0.3, beta=0.8,
                               gamma=0.85, lambd=0.0, eta=0.1, m=0.3))
