# GEM under the validation protocol of ./finetune_val.py (train on folds 1-4, accuracy matrix
# on fold 0; the test split is not read): the file on which margin is chosen for ./gem.py.
#   tools/sweep.py configs/continual/split_digits/gem_val.py --seeds 0 1 2 \
#       --grid train_cfg.strategy.margin=0.0,0.5
# (results in benchmarks/results/continual_digits_new_val.md).
_base_ = ["./finetune_val.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="GEM", memory_size=200, margin=0.5, eps=1e-3))
