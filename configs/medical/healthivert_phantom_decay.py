# HealthiVert-GAN, the default config (healthivert_phantom.py) with a decaying tail: its 600
# iterations at a constant rate, then pix2pix's "linear" policy (the official code's schedule
# shape) over 300 more, the rate falling linearly to ~0. The last checkpoints then move within
# the seed spread (docs/healthivert.md, "A decaying tail"); validation still prefers the
# default's iteration 600, so the default stays the constant-rate 600-iteration run.
_base_ = ["./healthivert_phantom.py"]

train_cfg = dict(max_iters=900)
param_scheduler = [dict(type="LinearLR", start_factor=1.0, end_factor=1 / 301, by_epoch=False,
                        begin=600, end=900)]
default_hooks = dict(checkpoint=dict(max_keep_ckpts=6))
