"""The accuracy record of a continual run and its files (``continual_results.json`` and the
accuracy-matrix plots)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from zoo.engine.atomic_io import atomic_write_bytes

from .metrics import continual_metrics

METRIC_DEFINITIONS = (
    "accuracy in percent; R[i][j] = accuracy on task j after training task i; "
    "average_accuracy = mean_j R[T-1][j]; average_incremental_accuracy = mean_i "
    "mean_{j<=i} R[i][j]; forgetting = mean_{j<T-1} max_{l<T-1} R[l][j]-R[T-1][j]; "
    "backward_transfer = mean_{j<T-1} R[T-1][j]-R[j][j]")


class AccuracyRecord:
    """Accuracy matrices ``R[i][j]`` (accuracy on task ``j`` after training task ``i``, NaN
    until measured) without and with task identity, optional metric matrices (one per key of
    the loop's ``eval_metric``), and the training wall time of every task."""

    def __init__(self, num_tasks: int):
        self.num_tasks = num_tasks
        self.matrix = np.full((num_tasks, num_tasks), np.nan)
        self.task_aware_matrix = np.full((num_tasks, num_tasks), np.nan)
        self.metric_matrices: dict[str, np.ndarray] = {}
        self.task_times: list[float] = []

    def add_row(self, task: int, cil: np.ndarray, til: np.ndarray) -> None:
        self.matrix[task, :task + 1] = cil
        self.task_aware_matrix[task, :task + 1] = til

    def add_metric_row(self, task: int, row: dict[str, np.ndarray]) -> None:
        for key, values in row.items():
            matrix = self.metric_matrices.setdefault(
                key, np.full((self.num_tasks,) * 2, np.nan))
            matrix[task, :task + 1] = values

    def metrics(self, task_aware: bool = False, upto: int | None = None) -> dict:
        matrix = self.task_aware_matrix if task_aware else self.matrix
        done = int((~np.isnan(np.diag(matrix))).sum()) if upto is None else upto
        return continual_metrics(matrix, done) if done else {}

    # task checkpoints -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        return dict(matrix=torch.from_numpy(self.matrix.copy()),
                    task_aware_matrix=torch.from_numpy(self.task_aware_matrix.copy()),
                    task_times=list(self.task_times))

    def load_state_dict(self, state: dict) -> None:
        self.matrix = state["matrix"].numpy().copy()
        self.task_aware_matrix = state["task_aware_matrix"].numpy().copy()
        self.task_times = [float(t) for t in state["task_times"]]

    # results file ---------------------------------------------------------------------------
    def to_results(self, **run) -> dict:
        """The JSON payload: ``run`` (strategy, config, scenario, epochs, seed) first, then the
        matrices, metrics and times."""
        def clean(m):
            return [[None if np.isnan(v) else round(float(v), 4) for v in row] for row in m]

        return dict(
            **run,
            accuracy_matrix=clean(self.matrix),
            task_aware_accuracy_matrix=clean(self.task_aware_matrix),
            metrics=self.metrics(),
            task_aware_metrics=self.metrics(task_aware=True),
            task_train_seconds=[round(t, 3) for t in self.task_times],
            metric_matrices={k: clean(m) for k, m in self.metric_matrices.items()},
            metric_definitions=METRIC_DEFINITIONS,
        )


def write_results(work_dir: str | Path, results_file: str, results: dict,
                  record: AccuracyRecord | None = None, title: str = "") -> Path:
    """Write ``results`` as JSON (atomically) and, with ``record``, the two accuracy-matrix
    PNGs (class-incremental and task-aware); returns the JSON path."""
    work_dir = Path(work_dir)
    path = work_dir / results_file
    atomic_write_bytes(path, json.dumps(results, indent=2).encode())
    if record is not None:
        from zoo.visualization import plot_matrix

        names = [f"T{t + 1}" for t in range(record.num_tasks)]
        for matrix, name, kind in (
                (record.matrix, "accuracy_matrix.png", "class-incremental"),
                (record.task_aware_matrix, "accuracy_matrix_task_aware.png", "task-aware")):
            plot_matrix(matrix, str(work_dir / name), names, names,
                        f"{title}: accuracy (%) {kind}",
                        "evaluated task", "after training task", fmt=".1f")
    return path
