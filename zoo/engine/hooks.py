"""Runner hooks."""
from __future__ import annotations

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.runner import set_random_seed

from zoo.registry import HOOKS


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Re-seed Python, NumPy and PyTorch at the start of every training epoch.

    The seed is ``base + epoch * 1000 + rank``. Augmentation, dropout and frame sampling in an
    epoch then depend only on the epoch, not on what ran before it (validation, a resume), so
    resuming after epoch 2 gives bit-identical weights to an uninterrupted run.
    """

    priority = "VERY_HIGH"

    def __init__(self, seed: int | None = None):
        self.seed = seed

    def before_train_epoch(self, runner) -> None:
        base = self.seed if self.seed is not None else (runner.seed or 0)
        set_random_seed(base + runner.epoch * 1000 + get_rank())
