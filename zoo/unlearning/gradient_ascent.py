"""Gradient ascent on the forget set (no retain data)."""
from __future__ import annotations

from zoo.registry import UNLEARNERS
from zoo.unlearning.base import GradientUnlearner, ce


@UNLEARNERS.register_module()
class GradientAscent(GradientUnlearner):
    """Gradient ascent (GA): maximise the cross-entropy of the forget samples, i.e. minimise
    ``-CE(forget)``, one epoch being one pass over the forget set; the retain set is never
    used (Thudi et al., "Unrolling SGD", EuroS&P 2022; Jang et al., "Knowledge Unlearning",
    ACL 2023; the ``GA`` baseline of Jia et al., NeurIPS 2023 and Fan et al., ICLR 2024).

    The ascent is unbounded, so a few small steps are the usual budget; ``max_forget_loss``
    optionally skips batches whose forget CE is already above it (``None``: plain GA, as in
    the official code of Jia et al.). The base class clips the update norm
    (``max_grad_norm``).
    """

    uses_retain_data = False

    def __init__(self, epochs: int = 1, lr: float = 1e-3, max_forget_loss: float | None = None,
                 **kwargs):
        super().__init__(epochs=epochs, lr=lr, steps="forget", **kwargs)
        self.max_forget_loss = max_forget_loss

    def forget_loss(self, model, inputs, labels):
        loss = ce(model, inputs, labels)
        if self.max_forget_loss is not None and float(loss.detach()) > self.max_forget_loss:
            return loss * 0.0
        return -loss

    def retain_loss(self, model, inputs, labels):
        return None
