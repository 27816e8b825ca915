"""3-D drawing of an original and an attacked skeleton sequence (matplotlib, PNG)."""
from __future__ import annotations

import numpy as np

from zoo.layouts import get_layout
from zoo.visualization import _figure, save_figure


def plot_attacked_sequence(clean: np.ndarray, adv: np.ndarray, layout: str, path: str,
                           num_frames: int = 4, title: str = "") -> None:
    """Draw ``num_frames`` evenly spaced frames of ``clean`` (blue) and ``adv`` (red), both
    ``[T, V, 3]`` joint coordinates, one 3-D panel per frame."""
    clean, adv = np.asarray(clean, dtype=float), np.asarray(adv, dtype=float)
    if clean.shape != adv.shape or clean.ndim != 3 or clean.shape[-1] != 3:
        raise ValueError(f"expected two [T, V, 3] sequences, got {clean.shape} and {adv.shape}")
    bones = get_layout(layout).bones
    plt = _figure()
    frames = np.linspace(0, len(clean) - 1, num_frames).round().astype(int)
    fig = plt.figure(figsize=(3.2 * num_frames, 3.6))
    both = np.concatenate([clean, adv])
    lo, hi = both.min((0, 1)), both.max((0, 1))
    for k, t in enumerate(frames):
        ax = fig.add_subplot(1, num_frames, k + 1, projection="3d")
        for seq, colour, label in ((clean, "tab:blue", "original"), (adv, "tab:red", "attacked")):
            pts = seq[t]
            for child, parent in bones:
                ax.plot(*zip(pts[child], pts[parent]), color=colour, lw=1.5)
            ax.scatter(*pts.T, color=colour, s=6, label=label)
        ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), zlim=(lo[2], hi[2]),
               title=f"frame {t}")
        ax.set_xticklabels([]), ax.set_yticklabels([]), ax.set_zticklabels([])
        if k == 0:
            ax.legend(loc="upper left", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    save_figure(fig, path)
