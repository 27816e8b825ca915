"""Slide heat maps: instance scores painted over the slide thumbnail, saved as PNG."""
from __future__ import annotations

import os

import numpy as np

from zoo.registry import FUNCTIONS


def score_grid(coords: np.ndarray, scores: np.ndarray, tile_size0: int, downsample: float,
               shape: tuple[int, int]) -> np.ndarray:
    """Float map (NaN where no tile) of ``shape`` at ``downsample`` from level-0 tile scores."""
    grid = np.full(shape, np.nan, np.float32)
    side = max(int(round(tile_size0 / downsample)), 1)
    for (x, y), s in zip(coords, scores):
        x0, y0 = int(x / downsample), int(y / downsample)
        grid[y0:y0 + side, x0:x0 + side] = s
    return grid


@FUNCTIONS.register_module(name="save_slide_heatmap")
def save_heatmap(path: str | os.PathLike, coords: np.ndarray, scores: np.ndarray,
                 tile_size0: int, slide_path: str | None = None, max_side: int = 1024,
                 title: str | None = None, truth: np.ndarray | None = None) -> None:
    """Write a PNG: slide thumbnail (if the slide is readable) with the scores overlaid.

    Without a slide, the map is drawn on a white canvas sized by the tile extent. ``truth``
    (0/1 per tile) is outlined in the right panel when given.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from zoo.engine.tracking import send_png
    from zoo.fileio import atomic_write_bytes

    coords, scores = np.asarray(coords), np.asarray(scores, dtype=np.float32)
    thumb = None
    if slide_path and os.path.isfile(slide_path):
        from .slide import open_slide

        slide = open_slide(slide_path)
        w0, h0 = slide.level_dimensions[0]
        thumb = np.asarray(slide.get_thumbnail((max_side, max_side)).convert("RGB"))
        slide.close()
    else:
        w0 = int(coords[:, 0].max() + tile_size0)
        h0 = int(coords[:, 1].max() + tile_size0)
    ds = max(w0, h0) / max_side if thumb is None else w0 / thumb.shape[1]
    shape = (thumb.shape[:2] if thumb is not None
             else (int(np.ceil(h0 / ds)), int(np.ceil(w0 / ds))))
    grid = score_grid(coords, scores, tile_size0, ds, shape)
    panels = 2 if truth is not None else 1
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 6 * shape[0] / shape[1] + 0.6))
    axes = np.atleast_1d(axes)
    for ax in axes:
        if thumb is not None:
            ax.imshow(thumb)
        ax.axis("off")
    im = axes[0].imshow(np.ma.masked_invalid(grid), cmap="jet", alpha=0.5, vmin=0, vmax=1)
    axes[0].set_title(title or "instance score")
    fig.colorbar(im, ax=axes[0], fraction=0.03)
    if truth is not None:
        tgrid = score_grid(coords, np.asarray(truth, np.float32), tile_size0, ds, shape)
        axes[1].imshow(np.ma.masked_invalid(tgrid), cmap="Reds", alpha=0.5, vmin=0, vmax=1)
        axes[1].set_title("tile labels (ground truth)")
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
    send_png(os.path.splitext(os.path.basename(path))[0], buffer.getvalue())
