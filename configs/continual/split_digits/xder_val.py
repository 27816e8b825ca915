# X-DER under the validation protocol of ./finetune_val.py (train on folds 1-4, accuracy
# matrix on fold 0; the test split is not read): the file on which lambd (the SupCon
# consistency weight; 0 switches it off) is chosen for ./xder.py.
#   tools/sweep.py configs/continual/split_digits/xder_val.py --seeds 0 1 2 \
#       --grid train_cfg.strategy.lambd=0.0,0.1
# (results in benchmarks/results/continual_digits_new_val.md).
_base_ = ["./finetune_val.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="XDER", buffer_size=200, alpha=0.3, beta=0.8,
                               gamma=0.85, lambd=0.1, eta=0.1, m=0.3))
