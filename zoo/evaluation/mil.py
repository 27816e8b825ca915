"""MIL metrics: bag accuracy / AUC and tile-level localisation (AUC, Dice) of instance scores."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from zoo.registry import FUNCTIONS, METRICS


def binary_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC via the rank statistic (ties get half credit); NaN if one class is absent."""
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels).astype(int)
    if labels.min() == labels.max():
        return float("nan")
    return float(roc_auc_score(labels, scores))


@METRICS.register_module()
class MILMetric(BaseMetric):
    """Bag accuracy and AUC (binary, or macro one-vs-rest), and instance localisation.

    Localisation uses the samples' ``pred_instance_score`` (min-max scaled per slide, as in
    CoMEL's evaluation) against ``tile_labels``: ``inst_auc`` pools every annotated tile of
    every slide; ``inst_auc_pos`` averages the per-slide AUC over slides containing both tile
    classes; ``dice`` averages the Dice of ``score >= threshold`` over tumour slides. Values
    in percent. With ``heatmap_dir`` every slide's heat map is written there as
    ``<slide_id>.png`` (e.g. ``tools/test.py ... --cfg-options
    test_evaluator.heatmap_dir=work_dirs/heatmaps``).
    """

    default_prefix = ""

    def __init__(self, threshold: float = 0.5, heatmap_dir: str | None = None,
                 collect_device: str = "cpu", prefix: str | None = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.threshold = threshold
        self.heatmap_dir = heatmap_dir

    def process(self, data_batch, data_samples: Sequence) -> None:
        for s in data_samples:
            get = s.get if isinstance(s, dict) else (lambda k, d=None, s=s: getattr(s, k, d))
            tl = get("tile_labels", None)
            inst = get("pred_instance_score", None)
            self.results.append(dict(
                score=torch.as_tensor(get("pred_score")).float().cpu().numpy(),
                label=int(torch.as_tensor(get("gt_label")).reshape(-1)[0]),
                inst=None if inst is None else torch.as_tensor(inst).float().cpu().numpy(),
                tile_labels=None if tl is None else torch.as_tensor(tl).cpu().numpy()))
            if self.heatmap_dir and inst is not None and get("coords", None) is not None:
                import os

                # the slide reader lives in the WSI data family; found by name (layers)
                save_heatmap = FUNCTIONS.get("save_slide_heatmap")
                if save_heatmap is None:
                    raise KeyError("MILMetric(heatmap_dir=...): no 'save_slide_heatmap' in "
                                   "zoo.registry.FUNCTIONS (zoo.datasets.wsi.heatmap)")
                r = self.results[-1]
                sid = get("slide_id", f"slide_{len(self.results)}")
                save_heatmap(os.path.join(self.heatmap_dir, f"{sid}.png"),
                             torch.as_tensor(get("coords")).numpy(), r["inst"],
                             int(get("tile_size0")), get("slide", None),
                             title=f"{sid}: label {r['label']}, "
                                   f"p(class 1)={r['score'][-1]:.2f}",
                             truth=r["tile_labels"])

    def compute_metrics(self, results: list) -> dict:
        scores = np.stack([r["score"] for r in results])
        labels = np.array([r["label"] for r in results])
        out = {"bag_acc": 100.0 * float((scores.argmax(1) == labels).mean())}
        if scores.shape[1] == 2:
            out["bag_auc"] = 100.0 * binary_auc(scores[:, 1], labels)
        else:
            aucs = [binary_auc(scores[:, c], labels == c) for c in range(scores.shape[1])]
            out["bag_auc"] = 100.0 * float(np.nanmean(aucs))
        annotated = [r for r in results if r["tile_labels"] is not None and r["inst"] is not None]
        if annotated:
            inst = np.concatenate([r["inst"] for r in annotated])
            tl = np.concatenate([r["tile_labels"] for r in annotated])
            out["inst_auc"] = 100.0 * binary_auc(inst, tl)
            per = [binary_auc(r["inst"], r["tile_labels"]) for r in annotated
                   if 0 < r["tile_labels"].sum() < len(r["tile_labels"])]
            if per:
                out["inst_auc_pos"] = 100.0 * float(np.mean(per))
            dice = []
            for r in annotated:
                if r["tile_labels"].sum() == 0:
                    continue
                pred = r["inst"] >= self.threshold
                t = r["tile_labels"].astype(bool)
                dice.append(2 * (pred & t).sum() / max(pred.sum() + t.sum(), 1))
            if dice:
                out["dice"] = 100.0 * float(np.mean(dice))
        return out
