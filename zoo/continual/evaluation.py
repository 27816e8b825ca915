"""Accuracy of every seen task after a task (one row of the accuracy matrix)."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from .scenario import ClassIncrementalScenario


@torch.no_grad()
def predict_scores(model, loader, preprocess: Callable, predict: Callable
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores ``[N, K_seen]`` from ``predict(model, inputs)`` (the strategy's) and incremental
    labels ``[N]``; ``preprocess(batch, training=False)`` gives ``(inputs, labels)``."""
    model.eval()
    scores, labels = [], []
    for batch in loader:
        inputs, target = preprocess(batch, training=False)
        scores.append(predict(model, inputs).float().cpu())
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


def topk_task_accuracies(scores: torch.Tensor, labels: torch.Tensor,
                         scenario: ClassIncrementalScenario, task: int, k: int = 5
                         ) -> np.ndarray:
    """Class-incremental top-``k`` accuracy (percent) of tasks ``0..task``: the label is among
    the ``k`` highest scores over all seen classes (``k`` is capped at the number of seen
    classes, where the accuracy is trivially 100)."""
    k = min(k, scores.shape[1])
    task_of = torch.as_tensor(scenario.task_of_incremental_label())[labels]
    hit = (scores.topk(k, dim=1).indices == labels[:, None]).any(1)
    return np.array([100.0 * hit[task_of == j].float().mean().item()
                     for j in range(task + 1)])


@torch.no_grad()
def metric_row(model, metric_cfg: dict, task_loaders: Sequence) -> dict[str, np.ndarray]:
    """``metric_cfg`` (a ``METRICS`` config) on the evaluation data of each seen task (one
    loader per task), from the model's ``mode='predict'`` outputs (e.g. MILMetric's tile-level
    AUC per task). Returns ``{key: values [len(task_loaders)]}`` for the metric's numeric
    results. Single process only (the metric sees this rank's samples)."""
    import copy

    from zoo.registry import METRICS

    model.eval()
    rows: dict[str, np.ndarray] = {}
    n = len(task_loaders)
    for j, loader in enumerate(task_loaders):
        metric = METRICS.build(copy.deepcopy(metric_cfg))
        for batch in loader:
            data = model.data_preprocessor(batch, False)
            outputs = model(**data, mode="predict")
            metric.process(batch, [o.to_dict() if hasattr(o, "to_dict") else o
                                   for o in outputs])
        values = metric.compute_metrics(metric.results)
        for key, value in values.items():
            if isinstance(value, (int, float)):
                rows.setdefault(key, np.full(n, np.nan))[j] = float(value)
    return rows


def own_task_accuracy(scores: torch.Tensor, labels: torch.Tensor, scenario, task: int,
                      k: int = 1) -> float:
    """Top-``k`` accuracy (percent) on the evaluation data of ``task`` in a scenario that needs
    no class-incremental arg-max: domain-incremental (one head, arg-max over all classes) or
    multi-head task-incremental (arg-max over the rows of ``task``'s head only). ``scores``
    has a column for every class of the scenario."""
    if scores.shape[1] != scenario.num_classes:
        raise ValueError(f"the strategy predicted {scores.shape[1]} scores per sample, expected "
                         f"one per class of the scenario ({scenario.num_classes})")
    if len(labels) == 0:
        raise ValueError(f"the evaluation split has no sample of task {task + 1} "
                         f"({scenario.describe_task(task)})")
    start, stop = scenario.incremental_range(task)
    head = scores[:, start:stop]
    if labels.min() < start or labels.max() >= stop:
        raise ValueError(f"task {task + 1}'s evaluation labels fall outside its head "
                         f"[{start}, {stop})")
    k = min(k, stop - start)
    hit = (head.topk(k, dim=1).indices + start == labels[:, None]).any(1)
    return 100.0 * hit.float().mean().item()
