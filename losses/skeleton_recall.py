"""Skeleton Recall loss (Kirchhoff et al., "Skeleton Recall Loss for Connectivity Conserving
and Resource Efficient Segmentation of Thin Tubular Structures", ECCV 2024), 2-D and 3-D.

The tubed skeleton of the ground truth is computed in the data pipeline (transform
``TubedSkeleton``), so the loss itself is a cheap soft recall of the prediction on it.
"""
from __future__ import annotations

import torch
from torch import nn

from zoo.registry import MODELS

from ._seg_utils import activate, check_activation, to_one_hot
from .dice_ce import DiceCELoss


def soft_skeleton_recall(probs: torch.Tensor, skel_onehot: torch.Tensor,
                         smooth: float = 1e-5) -> torch.Tensor:
    """Mean over (sample, class) of ``(sum p * skel + smooth) / (sum skel + smooth)``."""
    dims = tuple(range(2, probs.dim()))
    inter = (probs * skel_onehot).sum(dims)
    return ((inter + smooth) / (skel_onehot.sum(dims) + smooth).clamp_min(1e-8)).mean()


def sparse_skeleton_recall(logits: torch.Tensor, skel: torch.Tensor, activation: str,
                           smooth: float = 1e-5) -> torch.Tensor:
    """:func:`soft_skeleton_recall` of ``activate(logits)`` on the index skeleton ``skel``
    [N, 1, *spatial] (0 off the skeleton), computed on the skeleton voxels only.

    The tubed skeleton covers a few per cent of the voxels, so gathering their logits and
    activating only those costs a small fraction of a second full-volume softmax (issue 21:
    the loss should cost almost nothing, its skeleton is made in the data pipeline). Same
    formula as the dense one: mean over (sample, foreground class) of
    ``(sum of p_c on the skeleton of class c + smooth) / (its voxel count + smooth)``.
    """
    n, c = logits.shape[:2]
    voxels = skel[0, 0].numel()
    flat = skel.reshape(-1)
    where = (flat != 0).nonzero().squeeze(1)  # flat positions in [N * V]
    label = flat.index_select(0, where).long()
    if c > 1 and label.numel() and (label.max() >= c or label.min() < 0):
        raise ValueError(f"skel labels must be in [0, {c - 1}], got "
                         f"[{int(label.min())}, {int(label.max())}]")
    sample = where.div(voxels, rounding_mode="floor")
    # One index_select of the C logits of every skeleton voxel, laid out [K, C]: its backward
    # is a single scatter into the logits' gradient (a second gather would add another
    # full-size buffer, and softmax along a short last dimension is slow on the CPU).
    first = where + sample * (c - 1) * voxels  # class 0's entry in logits.reshape(-1)
    channel = torch.arange(c, device=logits.device) * voxels
    rows = logits.reshape(-1).index_select(0, (first[:, None] + channel).reshape(-1))
    rows = rows.view(-1, c).float()
    if c == 1:  # binary sigmoid output: every skeleton voxel is foreground
        probs, label, classes = rows[:, 0].sigmoid(), torch.zeros_like(label), 1
    else:
        if activation == "softmax":
            exp = (rows - rows.detach().amax(1, keepdim=True)).exp()
            probs = exp.gather(1, label[:, None])[:, 0] / exp.sum(1)
        else:
            probs = rows.gather(1, label[:, None])[:, 0].sigmoid()
        label, classes = label - 1, c - 1
    slot = sample * classes + label
    inter = torch.zeros(n * classes, dtype=probs.dtype, device=probs.device)
    inter = inter.index_add(0, slot, probs)
    count = torch.bincount(slot, minlength=n * classes).to(probs.dtype)
    return ((inter + smooth) / (count + smooth).clamp_min(1e-8)).mean()


@MODELS.register_module()
class SkeletonRecallLoss(nn.Module):
    """``1 - soft recall`` of the foreground probabilities on the tubed GT skeleton.

    Args:
        activation: ``'softmax'`` (background channel 0 is dropped) or ``'sigmoid'``.
        smooth: the official implementation's smoothing constant (1e-5 in nnU-Net's trainer).
    ``forward(logits, target, skel)``: ``skel`` [N, 1, *spatial] holds the class index on the
    tubed skeleton and 0 elsewhere (output of ``TubedSkeleton``).
    """

    needs_skeleton = True

    def __init__(self, activation: str = "softmax", smooth: float = 1e-5,
                 loss_weight: float = 1.0):
        super().__init__()
        check_activation(activation)
        if activation is None:
            raise ValueError("SkeletonRecallLoss needs activation 'softmax' or 'sigmoid'")
        self.activation, self.smooth, self.loss_weight = activation, smooth, loss_weight

    def forward(self, logits: torch.Tensor, target: torch.Tensor | None = None,
                skel: torch.Tensor | None = None) -> torch.Tensor:
        if skel is None:
            raise ValueError("SkeletonRecallLoss needs the tubed skeleton 'skel' of the ground "
                             "truth; add TubedSkeleton to the training pipeline")
        if skel.shape[0] != logits.shape[0] or skel.shape[2:] != logits.shape[2:]:
            raise ValueError(f"skel shape {tuple(skel.shape)} does not match prediction "
                             f"{tuple(logits.shape)}")
        if skel.shape[1] == 1 and not skel.dtype.is_floating_point:  # class indices
            recall = sparse_skeleton_recall(logits, skel, self.activation, self.smooth)
            return self.loss_weight * (1.0 - recall)
        probs = activate(logits, self.activation)  # one-hot or soft skeleton: dense
        skel_onehot = to_one_hot(skel, logits.shape[1])
        if logits.shape[1] > 1:
            probs, skel_onehot = probs[:, 1:], skel_onehot[:, 1:]
        recall = soft_skeleton_recall(probs, skel_onehot, self.smooth)
        return self.loss_weight * (1.0 - recall)


@MODELS.register_module()
class DiceCESkeletonRecallLoss(nn.Module):
    """Dice + CE (MONAI) + ``srec_weight`` x Skeleton Recall, the total loss of Kirchhoff et
    al., ECCV 2024 (weight 1 in the paper)."""

    needs_skeleton = True

    def __init__(self, srec_weight: float = 1.0, activation: str = "softmax",
                 include_background: bool = True, smooth: float = 1e-5,
                 loss_weight: float = 1.0):
        super().__init__()
        self.dice_ce = DiceCELoss(activation, include_background)
        self.srec = SkeletonRecallLoss(activation, smooth)
        self.srec_weight, self.loss_weight = srec_weight, loss_weight

    def forward(self, logits: torch.Tensor, target: torch.Tensor,
                skel: torch.Tensor | None = None) -> torch.Tensor:
        loss = self.dice_ce(logits, target) + self.srec_weight * self.srec(logits, target, skel)
        return self.loss_weight * loss
