"""Differentiable soft skeleton of Shit et al., "clDice - a Novel Topology-Preserving Loss
Function for Tubular Structure Segmentation", CVPR 2021 (Algorithm 1).

Soft erosion is a min-pool over the axis-aligned 3-neighbourhoods (a cross), soft dilation a
3x3(x3) max-pool; the skeleton accumulates ``relu(img - open(img))`` over ``iters`` erosions.
Works on 2-D [N, C, H, W] and 3-D [N, C, D, H, W] tensors with values in [0, 1].
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def soft_erode(img: torch.Tensor) -> torch.Tensor:
    """Min over the cross-shaped neighbourhood (each axis separately, then the minimum)."""
    nd = img.dim() - 2
    if nd not in (2, 3):
        raise ValueError(f"soft_erode needs [N, C, H, W] or [N, C, D, H, W], got {img.dim()}-D")
    pool = F.max_pool2d if nd == 2 else F.max_pool3d
    out = None
    for axis in range(nd):
        kernel = [1] * nd
        pad = [0] * nd
        kernel[axis], pad[axis] = 3, 1
        eroded = -pool(-img, tuple(kernel), 1, tuple(pad))
        out = eroded if out is None else torch.minimum(out, eroded)
    return out


def soft_dilate(img: torch.Tensor) -> torch.Tensor:
    """Max over the full 3x3 (2-D) or 3x3x3 (3-D) neighbourhood."""
    nd = img.dim() - 2
    if nd == 2:
        return F.max_pool2d(img, 3, 1, 1)
    if nd == 3:
        return F.max_pool3d(img, 3, 1, 1)
    raise ValueError(f"soft_dilate needs [N, C, H, W] or [N, C, D, H, W], got {img.dim()}-D")


def soft_open(img: torch.Tensor) -> torch.Tensor:
    return soft_dilate(soft_erode(img))


def soft_skeleton(img: torch.Tensor, iters: int = 3) -> torch.Tensor:
    """Soft skeleton of ``img`` (probabilities) after ``iters`` thinning steps."""
    if iters < 0:
        raise ValueError(f"iters must be >= 0, got {iters}")
    skel = F.relu(img - soft_open(img))
    for _ in range(iters):
        img = soft_erode(img)
        delta = F.relu(img - soft_open(img))
        skel = skel + F.relu(delta - skel * delta)
    return skel
