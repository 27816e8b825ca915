"""Write a small folder of demo videos (a real person, scikit-image's astronaut photo, moved in
three ways) with a ``labels.csv``, to try the video -> skeleton -> model path without one's own
videos (docs/custom_data.md).

    uv run tools/data/make_demo_videos.py my_videos --per-class 4

Classes: ``slide_right`` / ``slide_left`` (the person moves across the frame) and ``bob``
(up and down). The last video of each class is in the ``test`` split, the others in ``train``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from zoo.fileio import atomic_write_text
from zoo.video_io import write_video

CLASSES = ("bob", "slide_left", "slide_right")


def person(size: int) -> np.ndarray:
    import skimage.data
    from skimage.transform import resize

    return (resize(skimage.data.astronaut(), (size, size), anti_aliasing=True) * 255
            ).astype(np.uint8)


def frames_of(label: str, photo: np.ndarray, frames: int, rng: np.random.Generator,
              canvas=(240, 320)) -> list[np.ndarray]:
    h, w = canvas
    size = photo.shape[0]
    x0, y0 = int(rng.integers(20, w - size - 20)), int(rng.integers(5, h - size - 5))
    speed = float(rng.uniform(1.5, 3.0))
    out = []
    for t in range(frames):
        if label == "bob":
            x, y = x0, y0 + 6 * np.sin(2 * np.pi * t / 12)
        else:
            sign = 1 if label == "slide_right" else -1
            x = x0 + sign * speed * (t - frames / 2)
            y = y0
        x = int(np.clip(x, 0, w - size))
        y = int(np.clip(y, 0, h - size))
        frame = np.full((h, w, 3), 90, np.uint8)
        frame[y:y + size, x:x + size] = photo
        out.append(frame)
    return out


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--per-class", type=int, default=4)
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    photo = person(160)
    root = Path(args.out_dir)
    rows = ["video,label,split"]
    for label in CLASSES:
        for i in range(args.per_class):
            name = f"{label}/{label}_{i}.mp4"
            write_video(root / name, frames_of(label, photo, args.frames, rng), fps=15)
            rows.append(f"{name},{label},{'test' if i == args.per_class - 1 else 'train'}")
    atomic_write_text(root / "labels.csv", "\n".join(rows) + "\n")
    print(f"{len(rows) - 1} videos and labels.csv in {root}")
    return root


if __name__ == "__main__":
    main()
