"""Robustness numbers of an attack: accuracies, success rate, perturbation size and how much
the attacked skeletons violate bone lengths and motion smoothness."""
from __future__ import annotations

import torch

from zoo.attacks.constraints import acceleration_deviation, bone_lengths, valid_frames


def success_rate(clean_pred: torch.Tensor, adv_pred: torch.Tensor, labels: torch.Tensor
                 ) -> float:
    """Share of the correctly classified samples that the attack makes misclassified."""
    correct = clean_pred == labels
    if not correct.any():
        return float("nan")
    return float((adv_pred[correct] != labels[correct]).float().mean())


def perturbation_stats(x_clean: torch.Tensor, x_adv: torch.Tensor,
                       layout: str | None = None) -> dict[str, float]:
    """Perturbation size and constraint violations, averaged over samples (dim 0).

    * ``linf``: largest coordinate change of any sample; ``linf_mean`` its mean per sample;
    * ``l2``: mean per-sample l2 norm of the whole perturbation; ``joint_disp``: mean
      displacement (Euclidean) of a joint in a valid frame;
    * ``bone_dev_mean`` / ``bone_dev_max``: absolute change of bone lengths (needs layout);
    * ``accel_dev_mean`` / ``accel_dev_max``: per-joint change of acceleration (Euclidean).
    """
    delta = (x_adv - x_clean).float()
    flat = delta.reshape(len(delta), -1)
    valid = valid_frames(x_clean)
    disp = delta.norm(dim=-1)  # [..., T, V]
    stats = dict(
        linf=float(flat.abs().max()) if flat.numel() else 0.0,
        linf_mean=float(flat.abs().amax(1).mean()),
        l2=float(flat.norm(dim=1).mean()),
        joint_disp=float(disp[valid].mean()) if valid.any() else 0.0,
    )
    acc = acceleration_deviation(x_adv, x_clean)
    stats["accel_dev_mean"] = float(acc.mean()) if acc.numel() else 0.0
    stats["accel_dev_max"] = float(acc.max()) if acc.numel() else 0.0
    if layout is not None:
        dev = (bone_lengths(x_adv, layout) - bone_lengths(x_clean, layout)).abs()
        dev = dev[valid]
        stats["bone_dev_mean"] = float(dev.mean()) if dev.numel() else 0.0
        stats["bone_dev_max"] = float(dev.max()) if dev.numel() else 0.0
    return stats
