"""Late fusion of saved test scores (multi-stream / multi-model ensembles).

The usual skeleton recipe (2s-AGCN, CTR-GCN, PYSKL) trains one model per input stream (joint,
bone, joint motion, bone motion) and adds their class scores with weights such as 2:2:1:1.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from zoo.evaluation.dump import load_predictions


@dataclass
class FusionResult:
    """Top-1 of each input file and of their weighted sum, in percent."""

    names: list[str]
    weights: list[float]
    top1: list[float]
    fused_top1: float
    num_samples: int

    def table(self) -> str:
        rows = [f"{'scores':<40} {'weight':>7} {'top-1':>7}"]
        rows += [f"{n:<40} {w:>7.3g} {t:>7.2f}"
                 for n, w, t in zip(self.names, self.weights, self.top1)]
        rows.append(f"{'fused':<40} {'':>7} {self.fused_top1:>7.2f}")
        return "\n".join(rows)


def _aligned(preds: dict[str, np.ndarray], reference_ids: np.ndarray, name: str) -> np.ndarray:
    """Scores of ``preds`` re-ordered to ``reference_ids``; every id must be present once."""
    ids = preds["ids"]
    if len(set(ids.tolist())) != len(ids):
        raise ValueError(f"{name}: sample ids are not unique, cannot align it with the others")
    position = {sid: i for i, sid in enumerate(ids.tolist())}
    missing = [sid for sid in reference_ids.tolist() if sid not in position]
    if missing or len(ids) != len(reference_ids):
        raise ValueError(f"{name}: holds {len(ids)} samples, the first file "
                         f"{len(reference_ids)}; missing ids: {missing[:5]}")
    return preds["scores"][[position[sid] for sid in reference_ids.tolist()]]


def fuse_predictions(paths: Sequence[str], weights: Sequence[float] | None = None,
                     softmax: bool = False) -> FusionResult:
    """Weighted sum of the class scores in ``paths`` (``tools/test.py --dump`` files).

    Samples are matched by id, so files dumped in different orders fuse correctly. Scores are
    used as stored (the zoo dumps probabilities); ``softmax=True`` first turns logits into
    probabilities.
    """
    if not paths:
        raise ValueError("fuse_predictions needs at least one predictions file")
    weights = [1.0] * len(paths) if weights is None else [float(w) for w in weights]
    if len(weights) != len(paths):
        raise ValueError(f"{len(paths)} files but {len(weights)} weights")
    first = load_predictions(paths[0])
    ids, labels = first["ids"], first["labels"]
    fused, top1 = None, []
    for path, weight in zip(paths, weights):
        preds = load_predictions(path)
        scores = _aligned(preds, ids, path).astype(np.float64)
        if scores.shape[1] != first["scores"].shape[1]:
            raise ValueError(f"{path}: {scores.shape[1]} classes, {paths[0]} has "
                             f"{first['scores'].shape[1]}")
        if softmax:
            scores = np.exp(scores - scores.max(1, keepdims=True))
            scores /= scores.sum(1, keepdims=True)
        top1.append(float((scores.argmax(1) == labels).mean() * 100))
        fused = weight * scores if fused is None else fused + weight * scores
    fused_top1 = float((fused.argmax(1) == labels).mean() * 100)
    return FusionResult(list(paths), weights, top1, fused_top1, len(ids))
