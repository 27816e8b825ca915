"""Segmentation metric with topology measures: Dice, clDice, Betti errors and HD95."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from zoo.registry import METRICS

from .topology import betti_errors, cldice_score, dice_score, hd95

ALL_MEASURES = ("dice", "cldice", "betti0_err", "betti1_err", "hd95")


def _get(sample, key: str):
    value = sample.get(key) if isinstance(sample, dict) else getattr(sample, key, None)
    if value is None:
        raise KeyError(f"segmentation metric: data sample has no {key!r}; the model must "
                       f"return pred_sem_seg and the pipeline must pack gt_sem_seg")
    return torch.as_tensor(value).cpu().numpy()


def image_measures(pred: np.ndarray, gt: np.ndarray, classes: Sequence[int],
                   measures: Sequence[str] = ALL_MEASURES) -> dict:
    """Measures of one label map, averaged over the foreground ``classes``."""
    out: dict[str, list[float]] = {m: [] for m in measures}
    for c in classes:
        p, g = pred == c, gt == c
        if "dice" in measures:
            out["dice"].append(dice_score(p, g))
        if "cldice" in measures:
            out["cldice"].append(cldice_score(p, g))
        if "betti0_err" in measures or "betti1_err" in measures:
            e0, e1 = betti_errors(p, g)
            if "betti0_err" in measures:
                out["betti0_err"].append(e0)
            if "betti1_err" in measures:
                out["betti1_err"].append(e1)
        if "hd95" in measures:
            out["hd95"].append(hd95(p, g))
    return {m: float(np.mean(v)) for m, v in out.items()}


@METRICS.register_module()
class SegTopologyMetric(BaseMetric):
    """Per-image Dice, clDice (hard, skeletons), Betti-0 / Betti-1 errors and HD95, averaged
    over images (and over foreground classes within an image).

    Betti errors follow TopoMortar (Valverde et al., 2025): ``|b_k(pred) - b_k(gt)|`` per
    image. Dice and clDice are reported in [0, 1]. HD95 skips images where the prediction or
    the ground truth is empty and reports how many were skipped (``hd95_skipped``).

    Args:
        num_classes: classes of the label maps (background 0 included).
        measures: subset of ``('dice', 'cldice', 'betti0_err', 'betti1_err', 'hd95')``.
    Data samples need ``pred_sem_seg`` and ``gt_sem_seg`` label maps ([H, W] or [D, H, W]).
    """

    default_prefix = ""

    def __init__(self, num_classes: int = 2, measures: Sequence[str] = ALL_MEASURES,
                 collect_device: str = "cpu", prefix: str | None = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        unknown = set(measures) - set(ALL_MEASURES)
        if unknown:
            raise ValueError(f"unknown measures {sorted(unknown)}; choose from {ALL_MEASURES}")
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2 (background + foreground), got "
                             f"{num_classes}")
        self.classes = list(range(1, num_classes))
        self.measures = tuple(measures)

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            pred = np.squeeze(_get(sample, "pred_sem_seg"))
            gt = np.squeeze(_get(sample, "gt_sem_seg"))
            if pred.shape != gt.shape:
                raise ValueError(f"pred_sem_seg {pred.shape} and gt_sem_seg {gt.shape} differ")
            self.results.append(image_measures(pred, gt, self.classes, self.measures))

    def compute_metrics(self, results: list) -> dict:
        metrics = {}
        for m in self.measures:
            values = np.array([r[m] for r in results], dtype=float)
            finite = values[np.isfinite(values)]
            metrics[m] = float(finite.mean()) if finite.size else math.nan
            if m == "hd95":
                metrics["hd95_skipped"] = int(values.size - finite.size)
        return metrics
