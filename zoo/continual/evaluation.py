"""Accuracy of every seen task after a task (one row of the accuracy matrix)."""
from __future__ import annotations

import numpy as np
import torch

from .scenario import ClassIncrementalScenario


@torch.no_grad()
def predict_scores(loop, model, loader) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores ``[N, K_seen]`` from ``loop.strategy.predict`` and incremental labels ``[N]``."""
    model.eval()
    scores, labels = [], []
    for batch in loader:
        inputs, target = loop.preprocess(batch, training=False)
        scores.append(loop.strategy.predict(model, inputs).float().cpu())
        labels.append(target.cpu())
    return torch.cat(scores), torch.cat(labels)


def task_accuracies(scores: torch.Tensor, labels: torch.Tensor,
                    scenario: ClassIncrementalScenario, task: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per-task accuracy (percent) of tasks ``0..task``.

    Class-incremental: arg-max over all seen classes (no task identity). Task-incremental:
    arg-max restricted to the classes of the sample's own task (task identity given).
    """
    seen = scenario.num_seen_classes(task)
    if scores.shape[1] != seen:
        raise ValueError(f"the strategy predicted {scores.shape[1]} scores per sample after task "
                         f"{task}, expected {seen} (classes seen)")
    task_of = torch.as_tensor(scenario.task_of_incremental_label())[labels]
    pred = scores.argmax(1)
    cil, til = np.full(task + 1, np.nan), np.full(task + 1, np.nan)
    for j in range(task + 1):
        mask = task_of == j
        if not mask.any():
            raise ValueError(f"the evaluation split has no sample of task {j} "
                             f"(classes {scenario.task_classes[j]})")
        start, stop = scenario.incremental_range(j)
        cil[j] = 100.0 * (pred[mask] == labels[mask]).float().mean().item()
        local = scores[mask][:, start:stop].argmax(1) + start
        til[j] = 100.0 * (local == labels[mask]).float().mean().item()
    return cil, til
