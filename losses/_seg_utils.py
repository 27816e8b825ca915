"""Shared input handling of the segmentation losses: activation, one-hot targets, background."""
from __future__ import annotations

import torch
import torch.nn.functional as F

ACTIVATIONS = ("softmax", "sigmoid", None)


def check_activation(activation: str | None) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")


def activate(logits: torch.Tensor, activation: str | None) -> torch.Tensor:
    """Probabilities from ``logits`` [N, C, *spatial] (``None``: already probabilities)."""
    if activation == "softmax":
        if logits.shape[1] == 1:
            raise ValueError("softmax needs >= 2 channels; use activation='sigmoid' for a "
                             "single-channel binary output")
        return logits.softmax(1)
    if activation == "sigmoid":
        return logits.sigmoid()
    return logits


def to_one_hot(target: torch.Tensor, num_channels: int) -> torch.Tensor:
    """``target`` [N, 1, *spatial] class indices (or [N, C, *spatial] one-hot) -> float one-hot.

    With ``num_channels == 1`` (a binary sigmoid output) a float target is used as is (a mask
    or soft label) and an integer target is binarised (``> 0``).
    """
    if target.dim() < 3:
        raise ValueError(f"target must be [N, 1 or C, *spatial], got shape {tuple(target.shape)}")
    if num_channels == 1:
        if target.shape[1] != 1:
            raise ValueError(f"a 1-channel prediction needs a 1-channel target, got "
                             f"{target.shape[1]} channels")
        return target.float() if target.dtype.is_floating_point else (target > 0).float()
    if target.shape[1] == num_channels:
        return target.float()
    if target.shape[1] != 1:
        raise ValueError(f"target has {target.shape[1]} channels; expected 1 (class indices) or "
                         f"{num_channels} (one-hot)")
    index = target[:, 0].long()
    if index.min() < 0 or index.max() >= num_channels:
        raise ValueError(f"target labels must be in [0, {num_channels - 1}], got "
                         f"[{int(index.min())}, {int(index.max())}]")
    return F.one_hot(index, num_channels).movedim(-1, 1).float()


def prepare(logits: torch.Tensor, target: torch.Tensor, activation: str | None,
            include_background: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Probabilities and one-hot target of equal shape, background channel dropped if asked."""
    if logits.dim() not in (4, 5):
        raise ValueError(f"expected a 2-D [N, C, H, W] or 3-D [N, C, D, H, W] prediction, got "
                         f"shape {tuple(logits.shape)}")
    if target.dim() != logits.dim() or target.shape[2:] != logits.shape[2:] \
            or target.shape[0] != logits.shape[0]:
        raise ValueError(f"target shape {tuple(target.shape)} does not match prediction "
                         f"{tuple(logits.shape)} (need [N, 1 or C, *spatial])")
    probs = activate(logits, activation)
    onehot = to_one_hot(target, logits.shape[1])
    if not include_background and logits.shape[1] > 1:
        probs, onehot = probs[:, 1:], onehot[:, 1:]
    return probs, onehot


def soft_dice_loss(probs: torch.Tensor, onehot: torch.Tensor, smooth_nr: float = 1.0,
                   smooth_dr: float = 1.0) -> torch.Tensor:
    """Mean over (sample, channel) of ``1 - (2|P.G| + nr) / (|P| + |G| + dr)``."""
    dims = tuple(range(2, probs.dim()))
    inter = (probs * onehot).sum(dims)
    denom = probs.sum(dims) + onehot.sum(dims)
    return (1.0 - (2.0 * inter + smooth_nr) / (denom + smooth_dr)).mean()


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, activation: str | None
                  ) -> torch.Tensor:
    """Cross-entropy (softmax) or binary cross-entropy (sigmoid) of logits and a target."""
    onehot = to_one_hot(target, logits.shape[1])
    if activation == "softmax":
        return F.cross_entropy(logits, onehot.argmax(1))
    if activation == "sigmoid":
        return F.binary_cross_entropy_with_logits(logits, onehot)
    return F.binary_cross_entropy(logits.clamp(1e-6, 1 - 1e-6), onehot)
