"""Segmentation overlays of one or more trained segmentors, side by side, as one PNG.

Each row is an image; the columns are the input, the ground truth, and one prediction per
model: correct mortar (true positive) green, false positives red, missed mortar (false
negatives) blue, each with its Betti errors in the title. Without ground truth (``--image``)
the prediction is drawn in yellow over the image.

Examples::

    W=work_dirs/topology
    uv run tools/topology/overlay.py \
        --models configs/topology/unet_dicece_walls.py:$W/unet_dicece_walls/epoch_40.pth \
                 configs/topology/unet_cldice_walls.py:$W/unet_cldice_walls/epoch_40.pth \
        --names DiceCE clDice --split test_ood_colour --indices 0 1 --out overlay.png
    uv run tools/topology/overlay.py --models CFG:CKPT --image retina --out retina.png
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys

import numpy as np
import torch


def load_segmentor(config: str, checkpoint: str):
    """Build the model of ``config`` and load the weights of ``checkpoint`` (safe loader,
    keys checked: :func:`zoo.apis.init_model`)."""
    from zoo.apis import init_model
    from zoo.runner_utils import load_config

    cfg = load_config(config)
    return init_model(cfg, checkpoint), cfg


def read_image(spec: str, size: int | None) -> np.ndarray:
    """``retina`` / ``brick`` (scikit-image's bundled photographs) or a file path ->
    float32 RGB [H, W, 3] in [0, 1], resized so the longer side is ``size``."""
    import skimage.data
    from skimage.io import imread
    from skimage.transform import resize

    if spec in ("retina", "brick"):
        img = getattr(skimage.data, spec)()
    elif osp.isfile(spec):
        img = imread(spec)
    else:
        raise FileNotFoundError(f"--image {spec}: not a file nor 'retina' / 'brick'")
    img = img.astype(np.float32) / (255.0 if img.dtype == np.uint8 else max(img.max(), 1))
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, -1)
    img = img[..., :3]
    if size and max(img.shape[:2]) != size:
        scale = size / max(img.shape[:2])
        shape = (round(img.shape[0] * scale), round(img.shape[1] * scale), 3)
        img = resize(img, shape, anti_aliasing=True).astype(np.float32)
    return img


@torch.no_grad()
def predict(model, img: np.ndarray) -> np.ndarray:
    """Label map [H, W] of an RGB float image."""
    inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None]
    data = model.data_preprocessor({"inputs": inputs, "data_samples": None})
    return model.predict(data["inputs"])[0].pred_sem_seg.numpy()


def error_overlay(img: np.ndarray, pred: np.ndarray, gt: np.ndarray | None) -> np.ndarray:
    out = img * 0.45
    p = pred > 0
    if gt is None:
        out[p] = [1.0, 0.9, 0.1]
        return out
    g = gt > 0
    out[p & g] = [0.1, 0.85, 0.2]
    out[p & ~g] = [0.95, 0.15, 0.1]
    out[~p & g] = [0.2, 0.4, 1.0]
    return out


def make_figure(rows: list[tuple[str, np.ndarray, np.ndarray | None]], models: list,
                names: list[str], out: str) -> None:
    from zoo.evaluation.topology import betti_errors, betti_numbers, cldice_score
    from zoo.visualization import _figure, save_figure

    plt = _figure()
    has_gt = any(gt is not None for _, _, gt in rows)
    cols = 1 + int(has_gt) + len(models)
    fig, axes = plt.subplots(len(rows), cols, figsize=(2.6 * cols, 2.7 * len(rows)),
                             squeeze=False)
    for r, (title, img, gt) in enumerate(rows):
        panels = [(title, img)]
        if has_gt:
            b = betti_numbers(gt > 0) if gt is not None else ("-", "-")
            panels.append((f"ground truth b0={b[0]} b1={b[1]}",
                           np.repeat((gt > 0)[..., None], 3, -1).astype(float)
                           if gt is not None else np.zeros_like(img)))
        for model, name in zip(models, names):
            pred = predict(model, img)
            if gt is None:
                b0, b1 = betti_numbers(pred > 0)
                label = f"{name}\nb0={b0} b1={b1}"
            else:
                e0, e1 = betti_errors(pred > 0, gt > 0)
                label = f"{name}\nclDice={cldice_score(pred > 0, gt > 0):.3f} " \
                        f"|Δb0|={e0} |Δb1|={e1}"
            panels.append((label, error_overlay(img, pred, gt)))
        for c, (label, panel) in enumerate(panels):
            axes[r, c].imshow(np.clip(panel, 0, 1), interpolation="nearest")
            axes[r, c].set_title(label, fontsize=8)
            axes[r, c].axis("off")
    if has_gt:
        fig.suptitle("green: correct mortar, red: false positive, blue: missed", fontsize=9)
    save_figure(fig, out)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Side-by-side segmentation overlays")
    parser.add_argument("--models", nargs="+", required=True, help="CONFIG:CHECKPOINT pairs")
    parser.add_argument("--names", nargs="+", help="column titles (default: config names)")
    parser.add_argument("--split", default="test", help="BrickWalls split (default test)")
    parser.add_argument("--indices", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--image", help="a real image instead: retina, brick, or a path")
    parser.add_argument("--size", type=int, default=256, help="longer side for --image")
    parser.add_argument("--out", required=True, help="output PNG")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    from zoo.apis.model import set_default_scope

    args = parse_args(argv)
    torch.set_num_threads(1)
    set_default_scope()
    pairs = []
    for spec in args.models:
        if ":" not in spec:
            raise ValueError(f"--models entries are CONFIG:CHECKPOINT, got {spec!r}")
        pairs.append(spec.rsplit(":", 1))
    loaded = [load_segmentor(c, k) for c, k in pairs]
    models = [m for m, _ in loaded]
    names = args.names or [osp.splitext(osp.basename(c))[0] for c, _ in pairs]
    if len(names) != len(models):
        raise ValueError(f"{len(names)} names for {len(models)} models")
    if args.image:
        rows = [(args.image, read_image(args.image, args.size), None)]
    else:
        from zoo.registry import DATASETS

        ds_cfg = dict(loaded[0][1].test_dataloader.dataset)
        ds_cfg.update(split=args.split, pipeline=[])
        ds_cfg.pop("num_samples", None)
        dataset = DATASETS.build(ds_cfg)
        rows = []
        for i in args.indices:
            info = dataset.get_data_info(i)
            rows.append((f"{info['img_id']}", info["img"], info["gt_seg"]))
    make_figure(rows, models, names, args.out)
    print(f"Overlay written to {args.out}")


if __name__ == "__main__":
    sys.exit(main())
