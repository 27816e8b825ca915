"""Dice + cross-entropy baseline loss (MONAI's ``DiceCELoss``) behind the zoo's loss API."""
from __future__ import annotations

import torch
from monai.losses import DiceCELoss as _MonaiDiceCE
from torch import nn

from zoo.registry import MODELS

from ._seg_utils import to_one_hot


@MODELS.register_module()
class DiceCELoss(nn.Module):
    """Dice + cross-entropy baseline: MONAI's ``DiceCELoss`` with index targets.

    ``softmax`` outputs use ``to_onehot_y=True, softmax=True``; a 1-channel output uses
    ``sigmoid=True`` (binary CE). Extra keyword arguments go to MONAI.
    """

    needs_skeleton = False

    def __init__(self, activation: str = "softmax", include_background: bool = True,
                 loss_weight: float = 1.0, **kwargs):
        super().__init__()
        if activation not in ("softmax", "sigmoid"):
            raise ValueError(f"DiceCELoss activation must be softmax or sigmoid, got "
                             f"{activation!r}")
        self.activation = activation
        self.loss = _MonaiDiceCE(include_background=include_background,
                                 to_onehot_y=activation == "softmax",
                                 softmax=activation == "softmax",
                                 sigmoid=activation == "sigmoid", **kwargs)
        self.loss_weight = loss_weight

    def forward(self, logits: torch.Tensor, target: torch.Tensor, skel=None) -> torch.Tensor:
        if self.activation == "sigmoid":
            target = to_one_hot(target, 1)
        return self.loss_weight * self.loss(logits, target)
