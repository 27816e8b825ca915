"""Masked reconstruction losses of masked auto-encoders."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from zoo.registry import MODELS


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the masked entries only (MAE, He et al., CVPR 2022):
    ``sum(mask * (pred - target)^2) / (sum(mask) * C)`` for ``pred``/``target [..., C]`` and
    ``mask [...]`` (1 = masked, reconstructed)."""
    mask = mask.to(pred.dtype)
    err = ((pred - target) ** 2).mean(-1)
    return (err * mask).sum() / mask.sum().clamp_min(1)


def masked_sce(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
               alpha: float = 2.0) -> torch.Tensor:
    """Scaled cosine error over the masked entries (GraphMAE, Hou et al., KDD 2022, the loss
    SkeletonMAE (Yan et al., ICCV 2023) reconstructs joint features with):
    ``mean_masked (1 - cos(pred, target))^alpha`` over the last axis."""
    mask = mask.to(pred.dtype)
    err = (1 - F.cosine_similarity(pred, target, dim=-1, eps=1e-8)).pow(alpha)
    return (err * mask).sum() / mask.sum().clamp_min(1)


@MODELS.register_module()
class MaskedReconstructionLoss(nn.Module):
    """Reconstruction loss on masked positions: ``'mse'`` (:func:`masked_mse`) or ``'sce'``
    (:func:`masked_sce`). ``forward(pred [..., C], target [..., C], mask [...])``."""

    def __init__(self, kind: str = "mse", alpha: float = 2.0, loss_weight: float = 1.0):
        super().__init__()
        if kind not in ("mse", "sce"):
            raise ValueError(f"MaskedReconstructionLoss kind must be 'mse' or 'sce', got {kind!r}")
        self.kind, self.alpha, self.loss_weight = kind, alpha, loss_weight

    def forward(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
                ) -> torch.Tensor:
        if self.kind == "mse":
            return self.loss_weight * masked_mse(pred, target, mask)
        return self.loss_weight * masked_sce(pred, target, mask, self.alpha)
