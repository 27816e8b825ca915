"""Classification metrics: top-k accuracy and mean class accuracy."""
from __future__ import annotations

from functools import partial
from typing import Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from zoo.registry import METRICS


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Fraction of samples whose label is among the ``k`` highest scores."""
    k = min(k, scores.shape[1])
    topk = np.argsort(-scores, axis=1)[:, :k]
    return float((topk == labels[:, None]).any(axis=1).mean())


def mean_class_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Average over the classes present in ``labels`` of the per-class top-1 accuracy."""
    pred = scores.argmax(1)
    accs = [(pred[labels == c] == c).mean() for c in np.unique(labels)]
    return float(np.mean(accs))


def confusion_matrix(scores: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    pred = scores.argmax(1)
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, pred), 1)
    return matrix


@METRICS.register_module()
class AccMetric(BaseMetric):
    """Top-1, top-5 and mean class accuracy (in percent) of ``ClsDataSample`` predictions."""

    default_prefix = ""

    def __init__(self, topk: Sequence[int] = (1, 5), collect_device: str = "cpu",
                 prefix: str | None = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = tuple(topk)

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            get = sample.get if isinstance(sample, dict) else partial(getattr, sample)
            self.results.append({
                "score": torch.as_tensor(get("pred_score")).float().cpu().numpy(),
                "label": int(torch.as_tensor(get("gt_label")).reshape(-1)[0]),
            })

    def compute_metrics(self, results: list) -> dict:
        scores = np.stack([r["score"] for r in results])
        labels = np.array([r["label"] for r in results])
        metrics = {f"top{k}": 100.0 * topk_accuracy(scores, labels, k) for k in self.topk}
        metrics["mean_class_acc"] = 100.0 * mean_class_accuracy(scores, labels)
        return metrics
