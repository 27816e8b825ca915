# EWC (diagonal Fisher) with the proximal penalty step under the validation protocol of
# ./finetune_val.py (train subjects 1, 3, 5; accuracy on held-out training subjects 7, 9):
# the file on which lambda_ is chosen for ./ewc.py and ./ewc_rank1.py. Sweep with
# --cfg-options train_cfg.strategy.lambda_=X (and train_cfg.strategy.fisher_type=rank1); the
# default is the value chosen for ./ewc.py (results of the sweep there).
_base_ = ["./finetune_val.py"]
train_cfg = dict(strategy=dict(_delete_=True, type="EWC", lambda_=1e5,
                               penalty_step="proximal"))
