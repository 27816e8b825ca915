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


@torch.no_grad()
def metric_row(loop, task: int) -> dict[str, np.ndarray]:
    """``loop.eval_metric_cfg`` (a ``METRICS`` config) on each seen task ``0..task`` of the
    evaluation data, from the model's ``mode='predict'`` outputs (e.g. MILMetric's tile-level
    AUC per task). Returns ``{key: values [task + 1]}`` for the metric's numeric results.
    Single process only (the metric sees this rank's samples)."""
    import copy

    from zoo.registry import METRICS

    model = loop.model
    model.eval()
    rows: dict[str, np.ndarray] = {}
    for j in range(task + 1):
        metric = METRICS.build(copy.deepcopy(loop.eval_metric_cfg))
        dataset = loop.subset(loop.scenario.task_classes[j], train=False)
        for batch in loop.build_loader(dataset, train=False, batch_size=loop._eval_batch_size):
            data = model.data_preprocessor(batch, False)
            outputs = model(**data, mode="predict")
            metric.process(batch, [o.to_dict() if hasattr(o, "to_dict") else o
                                   for o in outputs])
        values = metric.compute_metrics(metric.results)
        for key, value in values.items():
            if isinstance(value, (int, float)):
                rows.setdefault(key, np.full(task + 1, np.nan))[j] = float(value)
    return rows
