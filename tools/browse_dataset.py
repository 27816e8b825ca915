"""Draw skeleton samples after the training pipeline, so its augmentations can be seen.

Example: ``uv run tools/browse_dataset.py configs/skeleton/stgcn_synthetic.py --num 4
--out vis/browse`` writes ``sample<i>_<class>.gif`` and ``..._strip.png`` per sample (the first
clip of each packed input; a 2-D pipeline's third channel is the keypoint score).
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

from zoo.layouts import get_layout
from zoo.skeleton_vis import render_2d, render_3d, save_animation, save_strip


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Draw samples after the data pipeline")
    parser.add_argument("config")
    parser.add_argument("--num", type=int, default=4, help="samples to draw")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--split", default="train", choices=["train", "val", "test"])
    parser.add_argument("--format", default="gif", choices=["gif", "mp4"])
    parser.add_argument("--seed", type=int, default=0, help="seed of the random augmentations")
    parser.add_argument("--cfg-options", nargs="+", default=None,
                        help="config overrides key=value (as in tools/train.py)")
    return parser.parse_args(argv)


def main(argv=None) -> list[Path]:
    args = parse_args(argv)
    from mmengine.config import DictAction
    from mmengine.registry import DefaultScope

    from zoo.registry import DATASETS
    from zoo.runner_utils import load_config

    options = None
    if args.cfg_options:
        parser = argparse.ArgumentParser()
        parser.add_argument("o", nargs="+", action=DictAction)
        options = parser.parse_args(args.cfg_options).o
    cfg = load_config(args.config, options)
    loader = cfg.get(f"{args.split}_dataloader")
    if loader is None:
        raise KeyError(f"{args.config}: no {args.split}_dataloader")
    np.random.seed(args.seed)
    with DefaultScope.overwrite_default_scope("zoo"):
        dataset = DATASETS.build(loader["dataset"])
    steps = [str(s.get("type", "")) for s in loader["dataset"].get("pipeline", [])]
    is_2d = any(s.endswith("PreNormalize2D") for s in steps)
    layout = dataset.metainfo.get("layout")
    classes = dataset.metainfo.get("classes") or ()
    out = Path(args.out)
    written = []
    for i in range(min(args.num, len(dataset))):
        packed = dataset[i]
        x = packed["inputs"].numpy()
        x = x[0] if x.ndim == 5 else x  # first clip: [M, T, V, C]
        if x.ndim != 4:
            raise ValueError(f"{args.config}: packed input of shape {x.shape} is not a "
                             "skeleton clip [clips, M, T, V, C]")
        if get_layout(layout).num_joints != x.shape[2]:
            raise ValueError(f"{args.config}: layout {layout!r} does not fit V={x.shape[2]}")
        x = x[np.abs(x).sum((1, 2, 3)) > 0] if np.abs(x).sum() > 0 else x[:1]  # drop padding
        if is_2d or x.shape[-1] < 3:
            score = x[..., 2] if x.shape[-1] > 2 else None
            frames = render_2d(x[..., :2], layout, score, image_coords=True)
        else:
            frames = render_3d(x, layout)
        label = packed["data_samples"].get("gt_label")
        name = str(int(label)) if label is not None else "x"
        if label is not None and int(label) < len(classes):
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(classes[int(label)]))
        target = out / f"sample{i}_{name}.{args.format}"
        written += [save_animation(frames, target),
                    save_strip(frames, target.with_name(target.stem + "_strip.png"))]
    print(f"{len(written) // 2} samples drawn into {out}")
    return written


if __name__ == "__main__":
    main()
