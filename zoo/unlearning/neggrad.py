"""NegGrad+: gradient ascent on the forget set with gradient descent on the retain set."""
from __future__ import annotations

from zoo.registry import UNLEARNERS
from zoo.unlearning.base import GradientUnlearner, ce


@UNLEARNERS.register_module()
class NegGradPlus(GradientUnlearner):
    """NegGrad+ (Kurmanji et al., "Towards Unbounded Machine Unlearning", NeurIPS 2023):
    minimise ``beta * CE(retain) - (1 - beta) * CE(forget)``.

    Args:
        beta: weight of the retain term (``1 - beta`` weighs the ascent on the forget set).
        forget_loss_cap: stop ascending on a batch whose forget CE is above this value (keeps
            the unbounded ascent from blowing up; ``None`` disables it).
    """

    def __init__(self, epochs: int = 2, lr: float = 0.01, beta: float = 0.9,
                 forget_loss_cap: float | None = 10.0, **kwargs):
        super().__init__(epochs=epochs, lr=lr, **kwargs)
        if not 0 <= beta <= 1:
            raise ValueError(f"NegGradPlus beta must be in [0, 1], got {beta}")
        self.beta, self.forget_loss_cap = beta, forget_loss_cap

    def forget_loss(self, model, inputs, labels):
        loss = ce(model, inputs, labels)
        if self.forget_loss_cap is not None and float(loss.detach()) > self.forget_loss_cap:
            return loss * 0.0
        return -(1 - self.beta) * loss

    def retain_loss(self, model, inputs, labels):
        return self.beta * ce(model, inputs, labels)
