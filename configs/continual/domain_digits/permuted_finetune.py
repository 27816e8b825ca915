# Permuted digits: domain-incremental, 5 tasks; task t shuffles the 64 pixels of every image by
# a fixed permutation drawn with numpy.random.default_rng(seed + t) (permuted MNIST of
# Goodfellow et al. 2013 / Lopez-Paz & Ranzato 2017). Fine-tuning lower bound.
_base_ = ["./finetune.py"]
train_cfg = dict(scenario=dict(_delete_=True, type="domain", permutations=5, seed=0))
