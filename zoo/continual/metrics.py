"""Continual-learning metrics from the accuracy matrix.

``R[i, j]`` is the accuracy on the test data of task ``j`` after training task ``i``
(defined for ``j <= i``; entries above the diagonal are NaN). With ``T`` tasks:

* average accuracy ``A_T = 1/T sum_j R[T-1, j]`` (Chaudhry et al., "Riemannian Walk for
  Incremental Learning", ECCV 2018, Eq. 4; Lopez-Paz & Ranzato, "GEM", NeurIPS 2017: ACC);
* average incremental accuracy ``1/T sum_i A_i`` with ``A_i = 1/(i+1) sum_{j<=i} R[i, j]``
  (Rebuffi et al., "iCaRL", CVPR 2017, averages the accuracy over all classes seen after each
  step; with balanced tasks this is the mean of the task accuracies used here);
* forgetting ``F_T = 1/(T-1) sum_{j<T-1} max_{l<T-1} (R[l, j] - R[T-1, j])`` (Chaudhry et
  al. 2018, Eq. 5-6: the drop from the best accuracy ever reached on task ``j``);
* backward transfer ``BWT = 1/(T-1) sum_{j<T-1} (R[T-1, j] - R[j, j])`` (Lopez-Paz &
  Ranzato 2017, Eq. 3; negative values mean forgetting);
* learning accuracy ``LA = 1/T sum_j R[j, j]`` (Riemer et al., "Learning to Learn without
  Forgetting by Maximizing Transfer and Minimizing Interference", ICLR 2019, Eq. 11): the
  accuracy on each task right after learning it, the plasticity side of the trade-off.

* forward transfer ``FWT = 1/(T-1) sum_{j>0} (R[j-1, j] - b_j)`` (Lopez-Paz & Ranzato 2017,
  Eq. 4), ``b_j`` the accuracy on task ``j`` of the randomly initialised model before any
  training: what learning the earlier tasks did for a task not trained yet. It needs the
  entries above the diagonal, so it is defined for the domain-incremental scenario (one head
  over all classes) and the multi-head task-incremental one (every head exists from the
  start). It is not defined in class-incremental learning with a growing head: before task
  ``j`` the classifier has no output for task ``j``'s classes, so ``R[j-1, j]`` would be 0 by
  construction and the difference would measure the head, not transfer.
"""
from __future__ import annotations

import numpy as np


def _check(matrix: np.ndarray, upto: int | None) -> tuple[np.ndarray, int]:
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"accuracy matrix must be square [T, T], got {matrix.shape}")
    t = matrix.shape[0] if upto is None else upto
    if not 1 <= t <= matrix.shape[0]:
        raise ValueError(f"upto={upto} outside 1..{matrix.shape[0]}")
    lower = np.tril(np.ones((t, t), dtype=bool))
    if np.isnan(matrix[:t, :t][lower]).any():
        raise ValueError("accuracy matrix has NaN on or below the diagonal of the first "
                         f"{t} tasks")
    return matrix, t


def average_accuracy(matrix: np.ndarray, upto: int | None = None) -> float:
    """Mean accuracy over the ``upto`` first tasks after training task ``upto - 1``."""
    matrix, t = _check(matrix, upto)
    return float(matrix[t - 1, :t].mean())


def average_incremental_accuracy(matrix: np.ndarray, upto: int | None = None) -> float:
    matrix, t = _check(matrix, upto)
    return float(np.mean([matrix[i, :i + 1].mean() for i in range(t)]))


def forgetting(matrix: np.ndarray, upto: int | None = None) -> float:
    """Average forgetting; 0 for a single task."""
    matrix, t = _check(matrix, upto)
    if t < 2:
        return 0.0
    drops = [matrix[j:t - 1, j].max() - matrix[t - 1, j] for j in range(t - 1)]
    return float(np.mean(drops))


def backward_transfer(matrix: np.ndarray, upto: int | None = None) -> float:
    matrix, t = _check(matrix, upto)
    if t < 2:
        return 0.0
    return float(np.mean([matrix[t - 1, j] - matrix[j, j] for j in range(t - 1)]))


def learning_accuracy(matrix: np.ndarray, upto: int | None = None) -> float:
    """Mean of the diagonal: each task's accuracy right after training it."""
    matrix, t = _check(matrix, upto)
    return float(np.mean(np.diag(matrix)[:t]))


def forward_transfer(matrix: np.ndarray, baseline: np.ndarray, upto: int | None = None
                     ) -> float | None:
    """``1/(t-1) sum_{0<j<t} (R[j-1, j] - b_j)`` over the first ``t = upto`` tasks; ``None``
    for a single task (no task is seen before its training). ``baseline`` = ``b`` (the
    randomly initialised model's accuracy on every task)."""
    matrix, t = _check(matrix, upto)
    baseline = np.asarray(baseline, dtype=np.float64)
    if baseline.shape != (matrix.shape[0],):
        raise ValueError(f"forward transfer needs one baseline accuracy per task "
                         f"({matrix.shape[0]}), got shape {baseline.shape}")
    if t < 2:
        return None
    before = np.array([matrix[j - 1, j] for j in range(1, t)])
    if np.isnan(before).any() or np.isnan(baseline[1:t]).any():
        raise ValueError("forward transfer needs R[j-1, j] and b_j of every task j > 0 "
                         "(evaluate every task after each task and before the first)")
    return float(np.mean(before - baseline[1:t]))


def continual_metrics(matrix: np.ndarray, upto: int | None = None,
                      baseline: np.ndarray | None = None) -> dict[str, float]:
    """All metrics of the first ``upto`` tasks (default: all); with ``baseline`` (random-init
    accuracy of every task) also ``forward_transfer`` (from two tasks on)."""
    out = dict(
        average_accuracy=average_accuracy(matrix, upto),
        average_incremental_accuracy=average_incremental_accuracy(matrix, upto),
        forgetting=forgetting(matrix, upto),
        backward_transfer=backward_transfer(matrix, upto),
        learning_accuracy=learning_accuracy(matrix, upto),
    )
    if baseline is not None:
        fwt = forward_transfer(matrix, baseline, upto)
        if fwt is not None:
            out["forward_transfer"] = fwt
    return out
