"""Draw one skeleton sample as an animation (GIF or MP4) and a PNG strip, 2-D or 3-D.

Examples::

    uv run tools/visualize_skeleton.py data/my_clips/jump__a.npy --out vis/jump.gif
    uv run tools/visualize_skeleton.py --config configs/skeleton/stgcn_synthetic.py \
        --index 3 --out vis/synthetic3.mp4
    uv run tools/visualize_skeleton.py data/ntu.pkl --frame-dir S001C001P001R001A001 \
        --out vis/ntu.gif

The sample is taken as read (before the pipeline); tools/browse_dataset.py draws samples
after it. ``--out X.gif`` (or ``.mp4``) also writes ``X_strip.png``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from zoo.layouts import get_layout
from zoo.skeleton_vis import render_2d, render_3d, save_animation, save_strip

LAYOUT_OF_JOINTS = {25: "ntu25", 20: "kinect20", 17: "coco17", 18: "openpose18",
                    33: "mediapipe33", 21: "hand21", 26: "halpe26"}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Draw a skeleton sample")
    parser.add_argument("input", nargs="?", help=".npy / .json clip or PYSKL .pkl")
    parser.add_argument("--config", help="take the sample from this config's data set")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"],
                        help="which data loader of --config")
    parser.add_argument("--index", type=int, default=0, help="sample index in the data set")
    parser.add_argument("--frame-dir", help="sample name inside a PYSKL pickle")
    parser.add_argument("--layout", help="joint layout (default: data set's, or from V)")
    parser.add_argument("--dim", type=int, choices=[2, 3],
                        help="draw 2-D or 3-D (default: 3 when C == 3 and no scores)")
    parser.add_argument("--out", required=True, help="output .gif or .mp4")
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--size", type=int, default=256, help="frame side in pixels")
    parser.add_argument("--strip", type=int, default=8, help="frames in the PNG strip")
    parser.add_argument("--max-frames", type=int,
                        help="draw at most this many frames, evenly spread (3-D is slow)")
    return parser.parse_args(argv)


def load_sample(args: argparse.Namespace) -> tuple[dict, str | dict | None]:
    """The raw sample dict and the layout its source declares (or ``None``)."""
    if args.config:
        from zoo.registry import DATASETS
        from zoo.runner_utils import load_config

        cfg = load_config(args.config)
        loader = cfg.get(f"{args.split}_dataloader")
        if loader is None:
            raise KeyError(f"{args.config}: no {args.split}_dataloader")
        dataset = DATASETS.build(dict(loader["dataset"], pipeline=[]))
        if not 0 <= args.index < len(dataset):
            raise IndexError(f"{args.config}: index {args.index} outside 0..{len(dataset) - 1}")
        return dataset.get_data_info(args.index), dataset.metainfo.get("layout")
    if not args.input:
        raise SystemExit("give an input file or --config")
    path = Path(args.input)
    if path.suffix == ".pkl":
        from zoo.apis.inference import _read_file

        return _read_file(path, args.frame_dir), None
    if path.suffix == ".json" or (path.suffix == ".npy" and _is_coco2d(path)):
        from zoo.datasets.skeleton.coco2d import read_coco2d_clip

        return read_coco2d_clip(path), "coco17"
    if path.suffix == ".npy":
        kp = np.load(path, allow_pickle=False).astype(np.float32)
        if kp.ndim == 3:
            kp = kp[None]
        if kp.ndim != 4:
            raise ValueError(f"{path}: expected [M, T, V, C] or [T, V, C], got {kp.shape}")
        return dict(keypoint=kp), None
    raise ValueError(f"{path}: use a .npy / .json clip or a PYSKL .pkl")


def _is_coco2d(path: Path) -> bool:
    arr = np.load(path, mmap_mode="r", allow_pickle=False)
    return arr.shape[-2:] == (17, 3)


def main(argv=None) -> list[Path]:
    args = parse_args(argv)
    sample, declared = load_sample(args)
    kp = sample["keypoint"]
    layout = args.layout or declared or LAYOUT_OF_JOINTS.get(kp.shape[2])
    if layout is None:
        raise ValueError(f"{kp.shape[2]} joints: pass --layout")
    if get_layout(layout).num_joints != kp.shape[2]:
        raise ValueError(f"layout {get_layout(layout).name!r} has "
                         f"{get_layout(layout).num_joints} joints, the sample {kp.shape[2]}")
    score = sample.get("keypoint_score")
    if args.max_frames and kp.shape[1] > args.max_frames:
        keep = np.linspace(0, kp.shape[1] - 1, args.max_frames).round().astype(int)
        kp = kp[:, keep]
        score = None if score is None else score[:, keep]
    dim = args.dim or (3 if kp.shape[-1] == 3 and score is None else 2)
    if dim == 3 and kp.shape[-1] < 3:
        raise ValueError("--dim 3 needs 3-D keypoints (C = 3)")
    frames = (render_3d(kp, layout, size=args.size) if dim == 3 else
              render_2d(kp[..., :2], layout, score, size=args.size,
                        image_coords=score is not None or "img_shape" in sample))
    out = Path(args.out)
    strip = out.with_name(out.stem + "_strip.png")
    written = [save_animation(frames, out, fps=args.fps), save_strip(frames, strip, args.strip)]
    print(f"{len(frames)} frames ({dim}-D, layout {get_layout(layout).name}) -> "
          f"{written[0]}, {written[1]}")
    return written


if __name__ == "__main__":
    main()
