"""Random relabelling of the forget set."""
from __future__ import annotations

import torch

from zoo.registry import UNLEARNERS
from zoo.unlearning.base import GradientUnlearner, ce


@UNLEARNERS.register_module()
class RandomLabel(GradientUnlearner):
    """Train on the forget samples with random wrong labels plus the retain set with their
    labels (the relabelling baseline of Graves et al., "Amnesiac Machine Learning", AAAI 2021;
    also used by SalUn, Fan et al., ICLR 2024).

    Args:
        exclude_forgotten: draw the random labels among classes that are not being forgotten
            (for class forgetting; otherwise any class but the true one).
    """

    def __init__(self, epochs: int = 2, lr: float = 0.01, exclude_forgotten: bool = True,
                 seed: int = 0, **kwargs):
        super().__init__(epochs=epochs, lr=lr, **kwargs)
        self.exclude_forgotten, self.seed = exclude_forgotten, seed
        self._candidates: torch.Tensor | None = None
        self._gen = torch.Generator().manual_seed(seed)

    def setup(self, model, ctx):
        classes = [c for c in range(ctx.num_classes)
                   if not (self.exclude_forgotten and c in ctx.forget_classes)]
        if not classes:
            raise ValueError("RandomLabel: every class is being forgotten")
        self._candidates = torch.tensor(classes)

    def random_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """A random label per sample among the candidates, never the true one."""
        cand = self._candidates
        out = cand[torch.randint(len(cand), labels.shape, generator=self._gen)]
        same = out == labels
        while same.any() and len(cand) > 1:
            out[same] = cand[torch.randint(len(cand), (int(same.sum()),), generator=self._gen)]
            same = out == labels
        return out.to(labels.device)

    def forget_loss(self, model, inputs, labels):
        return ce(model, inputs, self.random_labels(labels))
