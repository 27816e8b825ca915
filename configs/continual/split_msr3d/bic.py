# Split MSR Action3D, BiC: 40-sample memory split into herding exemplars and a class-balanced
# held-out part for the bias correction. val_fraction 0.5, not the paper's 0.1: with 20
# actions and 40 samples, 0.1 would leave 4 held-out samples for 20 classes (the paper has
# >= 20 per class); at 0.5 each seen action keeps one exemplar in each part at the end.
# T = 2, bias_l2 0.1 as ../split_digits/bic.py (chosen on the digits validation fold).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="BiC", memory_size=40, val_fraction=0.5,
                               temperature=2.0, bias_l2=1e-1))
