"""Soft clDice and Dice + clDice losses (Shit et al., CVPR 2021), 2-D and 3-D."""
from __future__ import annotations

import torch
from torch import nn

from zoo.registry import MODELS

from ._seg_utils import check_activation, cross_entropy, prepare, soft_dice_loss
from .soft_skeleton import soft_skeleton


def soft_cldice_per_sample(probs: torch.Tensor, onehot: torch.Tensor, iters: int = 3,
                           smooth_nr: float = 1.0, smooth_dr: float = 1.0,
                           smooth: float = 1e-4) -> torch.Tensor:
    """``1 - clDice`` per sample [N]; channels and voxels are pooled (as MONAI does).

    Topology precision ``Tprec = (|S(P).G| + nr) / (|S(P)| + dr)``, sensitivity
    ``Tsens = (|S(G).P| + nr) / (|S(G)| + dr)``, ``clDice = 2 Tprec Tsens / (Tprec + Tsens)``,
    with ``S`` the soft skeleton.
    """
    dims = tuple(range(1, probs.dim()))
    skel_pred = soft_skeleton(probs, iters)
    skel_true = soft_skeleton(onehot, iters)
    tprec = ((skel_pred * onehot).sum(dims) + smooth_nr) / (skel_pred.sum(dims) + smooth_dr)
    tsens = ((skel_true * probs).sum(dims) + smooth_nr) / (skel_true.sum(dims) + smooth_dr)
    return 1.0 - 2.0 * tprec * tsens / (tprec + tsens + smooth)


def _reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    if reduction == "none":
        return values
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


@MODELS.register_module()
class SoftClDiceLoss(nn.Module):
    """Soft clDice loss ``1 - clDice(S(P), S(G))`` of Shit et al., CVPR 2021.

    Args:
        iters: soft-skeleton thinning iterations (MONAI ``iter_``).
        smooth_nr, smooth_dr, smooth: constants of the ratios and of the harmonic mean.
        activation: ``'softmax'``, ``'sigmoid'`` or ``None`` (inputs already probabilities).
        include_background: keep channel 0 of a multi-channel output.
        reduction: over samples, ``'mean'`` / ``'sum'`` / ``'none'``.
    ``forward(logits, target)``: logits [N, C, H, W(, D)], target class indices [N, 1, ...]
    or one-hot [N, C, ...]. Equals ``monai.losses.SoftclDiceLoss`` with the same settings
    (``to_onehot_y=True`` for index targets).
    """

    needs_skeleton = False

    def __init__(self, iters: int = 3, smooth_nr: float = 1.0, smooth_dr: float = 1.0,
                 smooth: float = 1e-4, activation: str | None = "softmax",
                 include_background: bool = False, reduction: str = "mean",
                 loss_weight: float = 1.0):
        super().__init__()
        check_activation(activation)
        self.iters, self.smooth = iters, smooth
        self.smooth_nr, self.smooth_dr = smooth_nr, smooth_dr
        self.activation, self.include_background = activation, include_background
        self.reduction, self.loss_weight = reduction, loss_weight

    def forward(self, logits: torch.Tensor, target: torch.Tensor, skel=None) -> torch.Tensor:
        probs, onehot = prepare(logits, target, self.activation, self.include_background)
        values = soft_cldice_per_sample(probs, onehot, self.iters, self.smooth_nr,
                                        self.smooth_dr, self.smooth)
        return self.loss_weight * _reduce(values, self.reduction)


@MODELS.register_module()
class DiceClDiceLoss(nn.Module):
    """``(1 - alpha) * Dice + alpha * clDice (+ ce_weight * CE)`` (Shit et al., CVPR 2021).

    With ``ce_weight=0`` this equals ``monai.losses.SoftDiceclDiceLoss`` (Dice as MONAI's
    ``DiceLoss``: mean over samples and channels of ``1 - (2|P.G| + nr) / (|P| + |G| + dr)``).
    Other arguments as :class:`SoftClDiceLoss`.
    """

    needs_skeleton = False

    def __init__(self, iters: int = 3, alpha: float = 0.5, smooth_nr: float = 1.0,
                 smooth_dr: float = 1.0, smooth: float = 1e-4, activation: str | None = "softmax",
                 include_background: bool = False, ce_weight: float = 0.0,
                 loss_weight: float = 1.0):
        super().__init__()
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        check_activation(activation)
        self.cldice = SoftClDiceLoss(iters, smooth_nr, smooth_dr, smooth, activation,
                                     include_background)
        self.alpha, self.ce_weight, self.loss_weight = alpha, ce_weight, loss_weight

    def forward(self, logits: torch.Tensor, target: torch.Tensor, skel=None) -> torch.Tensor:
        c = self.cldice
        probs, onehot = prepare(logits, target, c.activation, c.include_background)
        dice = soft_dice_loss(probs, onehot, c.smooth_nr, c.smooth_dr)
        cl = soft_cldice_per_sample(probs, onehot, c.iters, c.smooth_nr, c.smooth_dr,
                                    c.smooth).mean()
        loss = (1.0 - self.alpha) * dice + self.alpha * cl
        if self.ce_weight:
            loss = loss + self.ce_weight * cross_entropy(logits, target, c.activation)
        return self.loss_weight * loss
