# Split digits, BiC: 200-sample memory split 9:1 into herding training exemplars (180) and a
# held-out validation part (20, class-balanced); CE + KD (T = 2) weighted by the old-class
# fraction; after each task the bias correction (alpha, beta) of the new classes' logits is
# fitted on the validation part (zoo/continual/strategies/bic.py). bias_l2 = 0.1 chosen on the
# validation fold (./bic_val.py; benchmarks/results/continual_digits_new_val.md).
_base_ = ["./finetune.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="BiC", memory_size=200, val_fraction=0.1,
                               temperature=2.0, bias_l2=1e-1))
