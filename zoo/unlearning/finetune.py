"""Fine-tuning on the retain set (a baseline unlearner)."""
from __future__ import annotations

from zoo.registry import UNLEARNERS
from zoo.unlearning.base import GradientUnlearner


@UNLEARNERS.register_module()
class FineTune(GradientUnlearner):
    """Continue training on the retain set only, relying on catastrophic forgetting of the
    forget set (the "fine-tune" baseline of Golatkar et al., CVPR 2020, and of SSD / SCRUB's
    comparisons). It has no forget update, so the GU projection does not apply."""

    def __init__(self, epochs: int = 3, lr: float = 0.01, **kwargs):
        super().__init__(epochs=epochs, lr=lr, **kwargs)
