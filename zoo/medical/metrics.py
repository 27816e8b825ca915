"""Evaluation of HealthiVert-GAN predictions: synthesised heights and RHLV per vertebra."""
from __future__ import annotations

from collections import defaultdict

import numpy as np
from mmengine.evaluator import BaseMetric

from zoo.registry import METRICS

from .rhlv import SECTIONS, SectionHeights


def aggregate_vertebrae(predictions: list[dict], min_rel_height: float = 0.64) -> list[dict]:
    """Group per-slice predictions by (case, vertebra) and measure each vertebra.

    Returns one dict per vertebra with the synthesised / true-healthy / original section
    heights (mm; ``height_ori`` in the sections of the synthesised mask, ``height_ori_true``
    in those of the true pre-fracture mask), RHLV from the synthesis and from the true healthy
    mask, the planted section losses, the grade, and the SHRM height (mean over slices, mm).
    """
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for p in predictions:
        groups[(int(p["case_id"]), int(p["label"]))].append(p)
    rows = []
    for (case, label), items in sorted(groups.items()):
        syn_acc, true_acc = SectionHeights(min_rel_height), SectionHeights(min_rel_height)
        for p in items:
            syn_acc.add_slice(p["syn_mask"], p["real_mask"], p["row_spacing"])
            true_acc.add_slice(p["healthy_mask"][0] > 0.5, p["real_mask"], p["row_spacing"])
        syn_res, true_res = syn_acc.result(), true_acc.result()
        shrm = [p["pred_height_px"] * p["row_spacing"] for p in items]
        rows.append(dict(case_id=case, label=label, grade=int(items[0]["grade"]),
                         fractured=bool(items[0]["fractured"]),
                         healthy_height_mm=float(items[0]["healthy_height_mm"]),
                         true_loss=[float(v) for v in np.asarray(items[0]["true_loss"])],
                         height_syn=syn_res.height_syn, height_true=true_res.height_syn,
                         height_ori=syn_res.height_ori,
                         height_ori_true=true_res.height_ori, rhlv_syn=syn_res.rhlv,
                         rhlv_true=true_res.rhlv, shrm_height_mm=float(np.mean(shrm))))
    return rows


def pearson_r(a, b) -> float:
    """Pearson correlation of two equally sized arrays (flattened); NaN when either is
    constant, where no correlation is defined."""
    a, b = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def summarise(rows: list[dict]) -> dict:
    """Height MAE (mm), RHLV MAE and Pearson r against the planted section losses."""
    syn_h = np.array([[r["height_syn"][s] for s in SECTIONS] for r in rows])
    true_h = np.array([[r["height_true"][s] for s in SECTIONS] for r in rows])
    rhlv = np.array([[r["rhlv_syn"][s] for s in SECTIONS] for r in rows])
    planted = np.array([r["true_loss"] for r in rows])
    shrm = np.array([r["shrm_height_mm"] for r in rows])
    whole_true = np.array([r["height_true"]["whole"] for r in rows])
    out = dict(num_vertebrae=len(rows),
               height_mae_mm=float(np.abs(syn_h - true_h).mean()),
               height_bias_mm=float((syn_h - true_h).mean()),
               shrm_height_mae_mm=float(np.abs(shrm - whole_true).mean()),
               rhlv_mae=float(np.abs(rhlv - planted).mean()))
    if rhlv.size > 2 and planted.std() > 0 and rhlv.std() > 0:
        out["rhlv_pearson_r"] = pearson_r(rhlv, planted)
    return out


@METRICS.register_module()
class HealthiVertMetric(BaseMetric):
    """Synthesised-vs-true healthy height MAE (mm) and RHLV agreement with planted losses.

    Expects the per-slice dicts of ``HealthiVertGAN.predict``.
    """

    default_prefix = "healthivert"

    def __init__(self, min_rel_height: float = 0.64, **kwargs):
        super().__init__(**kwargs)
        self.min_rel_height = min_rel_height

    def process(self, data_batch, data_samples) -> None:
        keep = ("syn_mask", "real_mask", "healthy_mask", "row_spacing", "case_id", "label",
                "grade", "fractured", "healthy_height_mm", "true_loss", "pred_height_px")
        self.results.extend({k: s[k] for k in keep} for s in data_samples)

    def compute_metrics(self, results: list) -> dict:
        return summarise(aggregate_vertebrae(results, self.min_rel_height))
