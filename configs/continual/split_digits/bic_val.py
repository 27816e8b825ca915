# BiC under the validation protocol of ./finetune_val.py (train on folds 1-4, accuracy matrix
# on fold 0; the test split is not read): the file on which bias_l2 is chosen for ./bic.py.
#   tools/sweep.py configs/continual/split_digits/bic_val.py --seeds 0 1 2 \
#       --grid train_cfg.strategy.bias_l2=1e-3,1e-2,1e-1
# (results in benchmarks/results/continual_digits_new_val.md).
_base_ = ["./finetune_val.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="BiC", memory_size=200, val_fraction=0.1,
                               temperature=2.0, bias_l2=1e-1))
