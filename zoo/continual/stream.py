"""Training streams with blurry task boundaries.

In the blurry setting (Aljundi et al., "Gradient based sample selection for online continual
learning", NeurIPS 2019; Koh et al., "Online Continual Learning on Class Incremental Blurry
Task Configuration with Anytime Inference", ICLR 2022) the stream does not switch cleanly from
one task to the next. Here a seeded fraction ``blurry`` of every task's training samples
(all tasks but the last) is held back and arrives in the next task's stream, mixed (the
sampler shuffles within a task) with that task's own samples: after the boundary the old
task's samples keep coming for a while. Samples never arrive before their own task, so the
class-incremental head already has their outputs and a multi-head model already has their
head.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch.utils.data import Dataset


def blurry_split(sizes: Sequence[int], fraction: float, seed: int
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
    """For every task ``t``: ``(kept, deferred)`` local indices of its samples; ``deferred``
    (``round(fraction * n_t)`` samples, drawn with ``default_rng(seed + t)``; empty for the
    last task) go to task ``t + 1``'s stream."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"blurry must be in [0, 1), got {fraction}")
    out = []
    for t, n in enumerate(sizes):
        order = np.random.default_rng(seed + t).permutation(int(n))
        k = int(round(fraction * n)) if t < len(sizes) - 1 else 0
        out.append((np.sort(order[k:]), np.sort(order[:k])))
    return out


class StreamDataset(Dataset):
    """The concatenation of ``(dataset, local indices)`` parts: one task's training stream.
    ``labels`` and ``task_of_sample`` (the task each sample belongs to) follow the parts."""

    def __init__(self, parts: Sequence[tuple[Dataset, np.ndarray, int]]):
        self.parts = [(d, np.asarray(idx, dtype=np.int64), int(t)) for d, idx, t in parts]
        self.cumulative = np.cumsum([len(idx) for _, idx, _ in self.parts]).tolist()
        self.labels = np.concatenate([np.asarray(d.labels)[idx] for d, idx, _ in self.parts]) \
            if self.parts else np.zeros(0, dtype=np.int64)
        self.task_of_sample = np.concatenate(
            [np.full(len(idx), t) for _, idx, t in self.parts]).astype(np.int64)

    def __len__(self) -> int:
        return self.cumulative[-1] if self.cumulative else 0

    def locate(self, idx: int) -> tuple[Dataset, int]:
        if not 0 <= idx < len(self):
            raise IndexError(f"StreamDataset: index {idx} out of range ({len(self)})")
        part = int(np.searchsorted(self.cumulative, idx, side="right"))
        local = idx - (self.cumulative[part - 1] if part else 0)
        dataset, indices, _ = self.parts[part]
        return dataset, int(indices[local])

    def get_data_info(self, idx: int) -> dict:
        dataset, i = self.locate(int(idx))
        return dataset.get_data_info(i)

    def __getitem__(self, idx: int):
        dataset, i = self.locate(int(idx))
        return dataset[i]

    def full_init(self) -> None:
        """Present for mmengine's dataset protocol."""
