"""Drawing skeletons: on video frames (OpenCV), as 2-D / 3-D animations (matplotlib for 3-D),
saved as GIF, MP4 or a PNG strip. Bones come from the joint layout (:mod:`zoo.layouts`).

Arrays follow the zoo's sample convention: ``keypoint`` ``[M, T, V, C]`` (C = 2 or 3), an
optional score ``[M, T, V]``; a joint whose coordinates are all zero (or whose score is 0)
is missing and not drawn.
"""
from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from zoo.fileio import atomic_path, atomic_write_bytes
from zoo.layouts import LayoutSpec, get_layout

# one colour per person (RGB)
PERSON_COLOURS = ((230, 60, 60), (60, 130, 230), (60, 190, 90), (230, 170, 40),
                  (170, 80, 200), (40, 190, 200))


def _valid(kp: np.ndarray, score: np.ndarray | None, thr: float) -> np.ndarray:
    ok = np.abs(kp).sum(-1) > 0
    if score is not None:
        ok &= score > thr
    return ok


def draw_skeleton(frame: np.ndarray, keypoint: np.ndarray, layout: LayoutSpec,
                  score: np.ndarray | None = None, thr: float = 0.3,
                  thickness: int = 2, joint_colour=(255, 255, 255)) -> np.ndarray:
    """Draw persons ``keypoint`` ``[M, V, 2]`` (pixels) on a copy of RGB ``frame``: bones in
    the person's colour, joints as dots of ``joint_colour``."""
    import cv2

    out = np.ascontiguousarray(frame).copy()
    bones = get_layout(layout).bones
    for m, person in enumerate(keypoint):
        ok = _valid(person[:, :2], None if score is None else score[m], thr)
        colour = PERSON_COLOURS[m % len(PERSON_COLOURS)]
        pts = np.round(person[:, :2]).astype(int)
        for child, parent in bones:
            if ok[child] and ok[parent]:
                cv2.line(out, tuple(pts[child]), tuple(pts[parent]), colour, thickness,
                         cv2.LINE_AA)
        for j in np.flatnonzero(ok):
            cv2.circle(out, tuple(pts[j]), thickness + 1, joint_colour, -1, cv2.LINE_AA)
    return out


def draw_text(frame: np.ndarray, lines: Sequence[str], origin=(8, 8)) -> np.ndarray:
    """Write ``lines`` in the top-left corner on a dark band (in place, returns ``frame``)."""
    import cv2

    scale = max(frame.shape[1] / 900, 0.4)
    height = int(24 * scale) + 4
    x, y = origin
    for i, line in enumerate(lines):
        (w, h), _ = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        top = y + i * height
        cv2.rectangle(frame, (x - 4, top), (x + w + 4, top + height), (0, 0, 0), -1)
        cv2.putText(frame, line, (x, top + h + 4), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (255, 255, 255), 1, cv2.LINE_AA)
    return frame


def fit_to_canvas(keypoint: np.ndarray, size: int, valid: np.ndarray,
                  flip_y: bool = False) -> np.ndarray:
    """Scale 2-D ``[..., 2]`` coordinates so that every valid joint of the whole sequence
    fits a ``size`` x ``size`` canvas with a margin (aspect kept)."""
    pts = keypoint[valid]
    if len(pts) == 0:
        return np.zeros_like(keypoint)
    lo, hi = pts.min(0), pts.max(0)
    span = float(max((hi - lo).max(), 1e-6))
    scale = 0.85 * size / span
    centre = (lo + hi) / 2
    out = (keypoint - centre) * scale
    if flip_y:
        out[..., 1] = -out[..., 1]
    return out + size / 2


def render_2d(keypoint: np.ndarray, layout: LayoutSpec, score: np.ndarray | None = None,
              size: int = 256, image_coords: bool = True) -> list[np.ndarray]:
    """One RGB frame per time step of ``keypoint`` ``[M, T, V, >=2]`` on a white canvas.

    ``image_coords``: y grows downwards (pixels, normalised 2-D); ``False`` flips it (3-D
    data seen from the front)."""
    kp = keypoint[..., :2].astype(np.float32)
    valid = _valid(kp, score, 0.0)
    canvas_kp = fit_to_canvas(kp, size, valid, flip_y=not image_coords)
    canvas_kp[~valid] = 0
    frames = []
    for t in range(kp.shape[1]):
        frame = np.full((size, size, 3), 255, np.uint8)
        frames.append(draw_skeleton(frame, canvas_kp[:, t], layout,
                                    None if score is None else score[:, t], thr=0.0,
                                    joint_colour=(40, 40, 40)))
    return frames


def render_3d(keypoint: np.ndarray, layout: LayoutSpec, size: int = 256,
              elev: float = 15.0, azim: float = -70.0) -> list[np.ndarray]:
    """One RGB frame per time step of 3-D ``keypoint`` ``[M, T, V, 3]`` (matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kp = keypoint[..., :3].astype(np.float32)
    valid = _valid(kp, None, 0.0)
    pts = kp[valid]
    lo, hi = (pts.min(0), pts.max(0)) if len(pts) else (np.zeros(3), np.ones(3))
    centre, half = (lo + hi) / 2, float(max((hi - lo).max(), 1e-6)) / 2
    bones = get_layout(layout).bones
    fig = plt.figure(figsize=(size / 100, size / 100), dpi=100)
    ax = fig.add_subplot(projection="3d")
    frames = []
    try:
        for t in range(kp.shape[1]):
            ax.cla()
            for axis, c in zip("xyz", centre):
                getattr(ax, f"set_{axis}lim")(c - half, c + half)
            ax.view_init(elev=elev, azim=azim)
            for m in range(kp.shape[0]):
                colour = np.array(PERSON_COLOURS[m % len(PERSON_COLOURS)]) / 255
                ok = valid[m, t]
                for child, parent in bones:
                    if ok[child] and ok[parent]:
                        seg = kp[m, t, [child, parent]]
                        # data y is "up" in the zoo's 3-D datasets: draw it on matplotlib's z
                        ax.plot(seg[:, 0], seg[:, 2], seg[:, 1], color=colour, linewidth=2)
            fig.canvas.draw()
            frames.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
    finally:
        plt.close(fig)
    return frames


def save_animation(frames: Sequence[np.ndarray], path: str | os.PathLike,
                   fps: float = 10.0) -> Path:
    """``.gif`` (Pillow) or ``.mp4`` (PyAV) of RGB ``frames``, written atomically."""
    path = Path(path)
    if path.suffix.lower() == ".gif":
        from PIL import Image

        images = [Image.fromarray(np.asarray(f, np.uint8)) for f in frames]
        buf = io.BytesIO()
        images[0].save(buf, format="GIF", save_all=True, append_images=images[1:],
                       duration=int(1000 / fps), loop=0)
        atomic_write_bytes(path, buf.getvalue())
    elif path.suffix.lower() == ".mp4":
        from zoo.video_io import write_video

        write_video(path, frames, fps=fps)
    else:
        raise ValueError(f"{path}: write a .gif or an .mp4")
    return path


def save_strip(frames: Sequence[np.ndarray], path: str | os.PathLike, count: int = 8) -> Path:
    """A PNG of ``count`` frames evenly spread over the sequence, side by side."""
    from PIL import Image

    idx = np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int)
    strip = np.concatenate([frames[i] for i in idx], axis=1)
    with atomic_path(path) as tmp:
        Image.fromarray(strip).save(tmp, format="PNG")
    return Path(path)
