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
    "backward_transfer = mean_{j<T-1} R[T-1][j]-R[j][j]; learning_accuracy = mean_j R[j][j]; "
    "top5_accuracy_matrix: the label among the 5 highest scores over all seen classes "
    "(trivially 100 while 5 or fewer classes are seen); top5_average_accuracy = its "
    "mean_j R5[T-1][j]; "
    "task_peak_rss_mb = the process's peak resident memory up to the end of each task "
    "(getrusage, never decreases); task_peak_cuda_mb = peak CUDA memory allocated during each "
    "task (null without CUDA); "
    "domain- and task-incremental runs evaluate every task after each task (entries above "
    "the diagonal: accuracy on a task before training it) and before the first "
    "(random_init_accuracy b_j); forward_transfer = mean_{j>0} R[j-1][j]-b_j")


class AccuracyRecord:
    """Accuracy matrices ``R[i][j]`` (accuracy on task ``j`` after training task ``i``, NaN
    until measured) without and with task identity, optional metric matrices (one per key of
    the loop's ``eval_metric``), and the training wall time of every task."""

    def __init__(self, num_tasks: int):
        self.num_tasks = num_tasks
        self.matrix = np.full((num_tasks, num_tasks), np.nan)
        self.task_aware_matrix = np.full((num_tasks, num_tasks), np.nan)
        self.metric_matrices: dict[str, np.ndarray] = {}
        self.top5_matrix = np.full((num_tasks, num_tasks), np.nan)
        self.task_times: list[float] = []
        self.task_peak_rss_mb: list[float] = []
        self.task_peak_cuda_mb: list[float | None] = []
        #: accuracy of every task with the randomly initialised model (forward transfer's b);
        #: ``None`` in class-incremental runs, where it is not defined
        self.baseline: np.ndarray | None = None

    def add_row(self, task: int, cil: np.ndarray, til: np.ndarray) -> None:
        self.matrix[task, :task + 1] = cil
        self.task_aware_matrix[task, :task + 1] = til

    def add_full_row(self, task: int, accuracies: np.ndarray) -> None:
        """Accuracy on every task (also those not trained yet) after ``task``; the scenario
        needs no task identity or is multi-head, so both matrices get the same row."""
        self.matrix[task] = accuracies
        self.task_aware_matrix[task] = accuracies

    def add_top5_row(self, task: int, top5: np.ndarray) -> None:
        self.top5_matrix[task, :task + 1] = top5

    def add_metric_row(self, task: int, row: dict[str, np.ndarray]) -> None:
        for key, values in row.items():
            matrix = self.metric_matrices.setdefault(
                key, np.full((self.num_tasks,) * 2, np.nan))
            matrix[task, :task + 1] = values

    def metrics(self, task_aware: bool = False, upto: int | None = None) -> dict:
        matrix = self.task_aware_matrix if task_aware else self.matrix
        done = int((~np.isnan(np.diag(matrix))).sum()) if upto is None else upto
        return continual_metrics(matrix, done, self.baseline) if done else {}

    def top5_average(self) -> float | None:
        """Mean top-5 accuracy over the tasks after the last finished task."""
        done = int((~np.isnan(np.diag(self.top5_matrix))).sum())
        return round(float(self.top5_matrix[done - 1, :done].mean()), 4) if done else None

    # task checkpoints -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        return dict(matrix=torch.from_numpy(self.matrix.copy()),
                    task_aware_matrix=torch.from_numpy(self.task_aware_matrix.copy()),
                    top5_matrix=torch.from_numpy(self.top5_matrix.copy()),
                    task_times=list(self.task_times),
                    task_peak_rss_mb=list(self.task_peak_rss_mb),
                    task_peak_cuda_mb=[-1.0 if m is None else m for m in self.task_peak_cuda_mb],
                    baseline=None if self.baseline is None
                    else torch.from_numpy(self.baseline.copy()))

    def load_state_dict(self, state: dict) -> None:
        self.matrix = state["matrix"].numpy().copy()
        self.task_aware_matrix = state["task_aware_matrix"].numpy().copy()
        self.task_times = [float(t) for t in state["task_times"]]
        if "top5_matrix" in state:  # absent from checkpoints written before top-5
            self.top5_matrix = state["top5_matrix"].numpy().copy()
        # checkpoints written before the memory record have no such keys
        self.task_peak_rss_mb = [float(m) for m in state.get("task_peak_rss_mb", [])]
        self.task_peak_cuda_mb = [None if m < 0 else float(m)
                                  for m in state.get("task_peak_cuda_mb", [])]
        baseline = state.get("baseline")
        self.baseline = None if baseline is None else baseline.numpy().copy()

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
            top5_accuracy_matrix=clean(self.top5_matrix),
            top5_average_accuracy=self.top5_average(),
            task_train_seconds=[round(t, 3) for t in self.task_times],
            task_peak_rss_mb=[round(m, 1) for m in self.task_peak_rss_mb],
            task_peak_cuda_mb=[None if m is None else round(m, 1)
                               for m in self.task_peak_cuda_mb],
            metric_matrices={k: clean(m) for k, m in self.metric_matrices.items()},
            random_init_accuracy=None if self.baseline is None
            else [round(float(v), 4) for v in self.baseline],
            metric_definitions=METRIC_DEFINITIONS,
        )


    def scalars(self, task: int) -> dict[str, float]:
        """What a visualisation backend receives after ``task``: the accuracy on every task
        evaluated (``continual/accuracy/task_<j>``, 1-based), the metrics of the tasks done so
        far (``continual/<metric>``, and ``continual/task_aware/<metric>``), the task's train
        time and peak memory."""
        out = {}
        row = self.matrix[task]
        for j in np.flatnonzero(~np.isnan(row)):
            out[f"continual/accuracy/task_{j + 1}"] = float(row[j])
        for key, value in self.metrics(upto=task + 1).items():
            out[f"continual/{key}"] = float(value)
        for key, value in self.metrics(task_aware=True, upto=task + 1).items():
            out[f"continual/task_aware/{key}"] = float(value)
        top5 = self.top5_matrix[task, :task + 1]
        if not np.isnan(top5).any():
            out["continual/top5_average_accuracy"] = float(top5.mean())
        if len(self.task_times) > task:
            out["continual/task_train_seconds"] = float(self.task_times[task])
            out["continual/peak_rss_mb"] = float(self.task_peak_rss_mb[task])
        return out


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
