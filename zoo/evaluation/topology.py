"""Per-image overlap and topology measures of binary masks (2-D and 3-D), in NumPy.

- Dice and hard clDice (Shit et al., CVPR 2021: precision of the predicted skeleton inside
  the ground truth and recall of the ground-truth skeleton inside the prediction, skeletons
  from ``skimage.morphology.skeletonize``).
- Betti numbers: b0 = foreground components (8-connectivity in 2-D, 26 in 3-D); b1 = holes.
  In 2-D holes are background components (4-connectivity) that do not touch the image border;
  in 3-D b1 comes from the Euler characteristic, ``b1 = b0 + b2 - chi`` with b2 the enclosed
  cavities (6-connected background components not touching the border). Both follow the
  usual dual connectivity, the same as a cubical complex of the padded image.
- Hausdorff distance 95th percentile from MONAI.
"""
from __future__ import annotations

import numpy as np
from skimage.measure import euler_number, label
from skimage.morphology import skeletonize


def _binary(mask: np.ndarray, name: str) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim not in (2, 3):
        raise ValueError(f"{name} must be a 2-D or 3-D mask, got shape {mask.shape}")
    return mask.astype(bool)


def dice_score(pred: np.ndarray, gt: np.ndarray) -> float:
    """``2|P.G| / (|P| + |G|)``; 1.0 when both are empty."""
    pred, gt = _binary(pred, "pred"), _binary(gt, "gt")
    denom = pred.sum() + gt.sum()
    return 1.0 if denom == 0 else float(2.0 * np.logical_and(pred, gt).sum() / denom)


def cldice_score(pred: np.ndarray, gt: np.ndarray) -> float:
    """Hard clDice on skeletonised masks; 1.0 when both are empty, 0.0 when one is."""
    pred, gt = _binary(pred, "pred"), _binary(gt, "gt")
    if not pred.any() and not gt.any():
        return 1.0
    if not pred.any() or not gt.any():
        return 0.0
    skel_pred, skel_gt = skeletonize(pred), skeletonize(gt)
    tprec = np.logical_and(skel_pred, gt).sum() / max(skel_pred.sum(), 1)
    tsens = np.logical_and(skel_gt, pred).sum() / max(skel_gt.sum(), 1)
    if tprec + tsens == 0:
        return 0.0
    return float(2.0 * tprec * tsens / (tprec + tsens))


def _border_free_components(background: np.ndarray, connectivity: int) -> int:
    labels, n = label(background, connectivity=connectivity, return_num=True)
    if n == 0:
        return 0
    border = np.zeros_like(background)
    for axis in range(background.ndim):
        index = [slice(None)] * background.ndim
        index[axis] = 0
        border[tuple(index)] = True
        index[axis] = -1
        border[tuple(index)] = True
    touching = np.unique(labels[border & background])
    return int(n - np.count_nonzero(touching))


def betti_numbers(mask: np.ndarray) -> tuple[int, int]:
    """(b0, b1) of a binary 2-D or 3-D mask (see the module docstring for the convention)."""
    mask = _binary(mask, "mask")
    full = mask.ndim  # 8 / 26 connectivity for the foreground
    b0 = int(label(mask, connectivity=full, return_num=True)[1])
    if mask.ndim == 2:
        return b0, _border_free_components(~mask, connectivity=1)
    b2 = _border_free_components(~mask, connectivity=1)
    chi = int(euler_number(mask, connectivity=full))
    return b0, b0 + b2 - chi


def betti_errors(pred: np.ndarray, gt: np.ndarray) -> tuple[int, int]:
    """``(|b0(P) - b0(G)|, |b1(P) - b1(G)|)``."""
    bp, bg = betti_numbers(pred), betti_numbers(gt)
    return abs(bp[0] - bg[0]), abs(bp[1] - bg[1])


def hd95(pred: np.ndarray, gt: np.ndarray, spacing: float | tuple | None = None) -> float:
    """95th-percentile Hausdorff distance (MONAI ``compute_hausdorff_distance``).

    ``nan`` when either mask is empty (the distance is undefined there).
    """
    import torch
    from monai.metrics import compute_hausdorff_distance

    pred, gt = _binary(pred, "pred"), _binary(gt, "gt")
    if not pred.any() or not gt.any():
        return float("nan")
    p = torch.from_numpy(pred)[None, None].float()
    g = torch.from_numpy(gt)[None, None].float()
    value = compute_hausdorff_distance(p, g, include_background=True, percentile=95,
                                       spacing=spacing)
    return float(value.reshape(-1)[0])
