"""Figures people would rather look at than numbers, written as PNGs (matplotlib, Agg).

Each PNG is also sent to the run's tracking backends (TensorBoard, ...) when there are any
(:func:`zoo.engine.tracking.send_png`)."""
from __future__ import annotations

import io
import os
from typing import Sequence

import numpy as np

from zoo.engine.tracking import send_png
from zoo.fileio import atomic_write_bytes


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    _figure().close(fig)
    atomic_write_bytes(path, buffer.getvalue())
    send_png(os.path.splitext(os.path.basename(path))[0], buffer.getvalue())


def plot_matrix(matrix: np.ndarray, path: str, row_labels: Sequence[str] = (),
                col_labels: Sequence[str] = (), title: str = "", xlabel: str = "",
                ylabel: str = "", fmt: str = "d", cmap: str = "Blues") -> None:
    """A heat map with the value written in each cell (confusion or accuracy matrices)."""
    plt = _figure()
    n_rows, n_cols = matrix.shape
    fig, ax = plt.subplots(figsize=(max(4, 0.45 * n_cols + 2), max(3.5, 0.45 * n_rows + 1.5)))
    masked = np.ma.masked_invalid(matrix.astype(float))
    im = ax.imshow(masked, cmap=cmap)
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_xticks(range(n_cols), labels=list(col_labels) or range(n_cols), rotation=90)
    ax.set_yticks(range(n_rows), labels=list(row_labels) or range(n_rows))
    if n_rows * n_cols <= 900:
        top = np.nanmax(matrix) if np.isfinite(matrix).any() else 1
        for i in range(n_rows):
            for j in range(n_cols):
                if np.isfinite(matrix[i, j]):
                    ax.text(j, i, format(matrix[i, j], fmt), ha="center", va="center",
                            fontsize=7, color="white" if matrix[i, j] > 0.6 * top else "black")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    save_figure(fig, path)


def plot_confusion_matrix(matrix: np.ndarray, classes: Sequence[str], path: str,
                          title: str = "Confusion matrix") -> None:
    plot_matrix(matrix, path, classes, classes, title, "predicted", "true")
