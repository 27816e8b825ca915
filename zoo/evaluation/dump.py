"""Write test predictions (scores, labels, sample ids) to an ``.npz`` file, atomically."""
from __future__ import annotations

import io
from typing import Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from zoo.fileio import atomic_write_bytes
from zoo.registry import METRICS


def save_predictions(path: str, scores: np.ndarray, labels: np.ndarray, ids: Sequence[str],
                     classes: Sequence[str] = ()) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, scores=scores.astype(np.float32), labels=labels.astype(np.int64),
             ids=np.asarray(list(ids), dtype=str), classes=np.asarray(list(classes), dtype=str))
    atomic_write_bytes(path, buffer.getvalue())


def load_predictions(path: str) -> dict[str, np.ndarray]:
    """Read a predictions file written by :class:`DumpPredictions` (no pickle allowed)."""
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


@METRICS.register_module()
class DumpPredictions(BaseMetric):
    """Save every sample's class scores, label and id to ``out_file`` (``.npz``).

    ``tools/ensemble.py`` fuses such files; ``tools/test.py --dump`` adds this metric.
    """

    def __init__(self, out_file: str, collect_device: str = "cpu"):
        super().__init__(collect_device=collect_device)
        if not out_file.endswith(".npz"):
            raise ValueError(f"DumpPredictions writes .npz files, got {out_file!r}")
        self.out_file = out_file

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            self.results.append((
                torch.as_tensor(sample["pred_score"]).float().cpu().numpy(),
                int(torch.as_tensor(sample["gt_label"]).reshape(-1)[0]) if "gt_label" in sample
                else -1,
                str(sample.get("frame_dir", sample.get("sample_idx", len(self.results)))),
            ))

    def compute_metrics(self, results: list) -> dict:
        scores = np.stack([r[0] for r in results])
        labels = np.array([r[1] for r in results])
        classes = (self.dataset_meta or {}).get("classes", ())
        save_predictions(self.out_file, scores, labels, [r[2] for r in results], classes)
        return {}
