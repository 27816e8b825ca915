"""Fusion of the translated image with the IR input (the ModTr variants).

Medeiros et al., "Modality Translation for Object Detection Adaptation Without Forgetting
Prior Knowledge", ECCV 2024: the translator output ``t`` (sigmoid, [0, 1]) is combined with
the IR image ``x`` (repeated to 3 channels) before the frozen detector:

* ``'none'``: ``t``;
* ``'product'`` (the paper's ModTr_⊙, ``--fuse-data cross`` in the official code):
  ``clip(x * t, 0, 1)`` - the translator predicts a per-pixel, per-channel gain;
* ``'addition'`` (ModTr_+): ``(x + t) / 2``;
* ``'attention'``: spatial attention between the two, weights a softmax over their
  channel sums at each pixel: ``w_t * t + w_x * x``.
"""
from __future__ import annotations

import torch
from torch import nn

from zoo.registry import MODELS

FUSIONS = ("none", "product", "addition", "attention")
_ALIASES = {"cross": "product"}


def fuse(translated: torch.Tensor, ir: torch.Tensor, mode: str = "product") -> torch.Tensor:
    """Combine ``translated`` and ``ir`` (both [N, C, H, W]) as described in the module."""
    mode = _ALIASES.get(mode, mode)
    if mode == "none":
        return translated
    if mode == "product":
        return (ir * translated).clamp(0.0, 1.0)
    if mode == "addition":
        return (ir + translated) / 2
    if mode == "attention":
        scores = torch.stack([translated.sum(1, keepdim=True), ir.sum(1, keepdim=True)])
        w = scores.softmax(0)
        return w[0] * translated + w[1] * ir
    raise ValueError(f"fusion must be one of {FUSIONS} (or 'cross' = 'product'), got {mode!r}")


@MODELS.register_module()
class ModTrFusion(nn.Module):
    """Module form of :func:`fuse` (no parameters)."""

    def __init__(self, mode: str = "product"):
        super().__init__()
        mode = _ALIASES.get(mode, mode)
        if mode not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {mode!r}")
        self.mode = mode

    def forward(self, translated: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        return fuse(translated, ir, self.mode)
