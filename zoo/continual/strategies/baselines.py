"""Reference points of every continual benchmark: fine-tuning (lower bound) and joint
training (upper bound)."""
from __future__ import annotations

from torch.utils.data import Dataset

from zoo.registry import STRATEGIES

from .base import Strategy


@STRATEGIES.register_module()
class FineTune(Strategy):
    """Plain SGD on each task in turn with cross-entropy over the seen classes, nothing kept
    from earlier tasks: the catastrophic-forgetting lower bound (McCloskey & Cohen 1989;
    "Finetune" in De Lange et al., "A continual learning survey", TPAMI 2021)."""

    family = "lower bound"
    multi_head_ready = True

@STRATEGIES.register_module()
class Joint(Strategy):
    """Upper bound: at task ``t`` train on the data of all tasks ``0..t`` (the "Cumulative" /
    "Joint" reference of De Lange et al., TPAMI 2021, and of Avalanche's ``Cumulative``),
    continuing from the previous weights. Breaks the continual constraint on purpose."""

    family = "upper bound"
    multi_head_ready = True

    def train_dataset(self, task: int) -> Dataset:
        if self.scenario.kind == "domain":  # the domains so far, not a class subset
            return self.context.tasks_dataset(range(task + 1))
        return self.context.subset(self.scenario.classes_up_to(task))
