"""l1-sparse unlearning: fine-tuning on the retain set with a decaying l1 penalty."""
from __future__ import annotations

import torch

from zoo.registry import UNLEARNERS
from zoo.unlearning.base import GradientUnlearner, ce


def l1_norm(params) -> torch.Tensor:
    """``sum |theta|`` over all given parameters."""
    return sum(p.abs().sum() for p in params)


@UNLEARNERS.register_module()
class L1Sparse(GradientUnlearner):
    """l1-sparse unlearning (Jia et al., "Model Sparsity Can Simplify Machine Unlearning",
    NeurIPS 2023): fine-tune on the retain set minimising
    ``CE(retain) + gamma_t * ||theta||_1``. As in the official code (``FT_l1`` of
    OPTML-Group/Unlearn-Sparse), the l1 weight decays linearly over epochs,
    ``gamma_t = alpha * (1 - t / (epochs - no_l1_epochs))`` for epoch ``t`` (0-based) below
    ``epochs - no_l1_epochs`` and 0 afterwards (``alpha`` whole when that count is 0); the
    norm is over every trainable parameter (BatchNorm affine terms included, as upstream).

    Args:
        alpha: initial l1 weight (the official scripts use values around ``5e-4``).
        no_l1_epochs: final epochs without the penalty.
    """

    def __init__(self, epochs: int = 2, lr: float = 0.01, alpha: float = 5e-4,
                 no_l1_epochs: int = 0, **kwargs):
        super().__init__(epochs=epochs, lr=lr, **kwargs)
        if alpha < 0:
            raise ValueError(f"L1Sparse alpha must be >= 0, got {alpha}")
        if not 0 <= no_l1_epochs <= epochs:
            raise ValueError(f"L1Sparse no_l1_epochs must be in [0, epochs={epochs}], "
                             f"got {no_l1_epochs}")
        self.alpha, self.no_l1_epochs = alpha, no_l1_epochs
        self._gamma = alpha
        self._params: list = []

    def l1_weight(self, epoch: int) -> float:
        """The l1 weight of epoch ``epoch`` (0-based)."""
        decay_epochs = self.epochs - self.no_l1_epochs
        if decay_epochs == 0:
            return self.alpha
        return self.alpha * (1 - epoch / decay_epochs) if epoch < decay_epochs else 0.0

    def before_epoch(self, epoch):
        self._gamma = self.l1_weight(epoch)

    def setup(self, model, ctx):
        self._params = self.trainable(model)

    def retain_loss(self, model, inputs, labels):
        loss = ce(model, inputs, labels)
        if self._gamma:
            loss = loss + self._gamma * l1_norm(self._params)
        return loss
