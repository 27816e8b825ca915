"""Synthetic brick walls for mortar segmentation, in the spirit of TopoMortar (Valverde et
al., "TopoMortar: A dataset to evaluate image segmentation methods focused on topology
accuracy", BMVC 2025).

A wall is a running-bond grid of bricks separated by mortar lines, slightly rotated and
wavy, rendered with per-brick colours, a texture taken from scikit-image's real photograph of
a brick wall (``skimage.data.brick``), lighting gradients, a cast shadow, pixel noise, blur
and occluders (cables, leaves, stains). The label is the mortar (class 1) of the wall
geometry at pixel centres, also under the occluders, so it is exact by construction: the
mortar forms one connected network (b0 = 1 when the wall fills the image) and every brick
that does not touch the border is a hole (b1 = number of inner bricks).

Label variants for training: ``'accurate'``; ``'noisy'`` (random gaps, thickness changes,
spurious strokes and a 1-px shift, like hurried manual labels); ``'pseudo'`` (a classical
local-threshold segmentation of the image, like labels from a weak automatic method).
Test styles: ``'id'`` (the training distribution), ``'ood_colour'`` (other brick and mortar
colours, dark mortar on light bricks included) and ``'ood_texture'`` (strong, coarser
texture and heavy noise).
"""
from __future__ import annotations

import functools
import os
import os.path as osp

import numpy as np
from scipy import ndimage as ndi

from zoo.fileio import atomic_path

STYLES = ("id", "ood_colour", "ood_texture")
LABEL_TYPES = ("accurate", "noisy", "pseudo")
# split -> (rendering style, default size of the split, seed stream)
WALL_SPLITS = {
    "train": ("id", 40, 0),
    "val": ("id", 10, 1),
    "test": ("id", 20, 2),
    "test_ood_colour": ("ood_colour", 20, 3),
    "test_ood_texture": ("ood_texture", 20, 4),
}


@functools.lru_cache(maxsize=1)
def _brick_texture() -> np.ndarray:
    from skimage.data import brick

    tex = brick().astype(np.float32)
    return (tex - tex.mean()) / tex.std()


def wall_geometry(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Mortar mask (bool [size, size]) and brick ids (int, -1 on mortar) of a random wall."""
    brick_h = rng.uniform(11.0, 17.0) * size / 128
    brick_l = brick_h * rng.uniform(1.8, 3.0)
    thick = max(rng.uniform(1.7, 3.0) * size / 128, 1.5)  # >= 1.5 px: 8-connected lines
    theta = np.deg2rad(rng.uniform(-6.0, 6.0))
    amp, period, phase = rng.uniform(0.0, 1.5), rng.uniform(60, 200), rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    u = xx * np.cos(theta) + yy * np.sin(theta) + rng.uniform(0, brick_l)
    v = -xx * np.sin(theta) + yy * np.cos(theta) + rng.uniform(0, brick_h)
    v = v + amp * np.sin(2 * np.pi * u / period + phase)
    row = np.floor(v / brick_h).astype(int)
    row0 = row.min()
    n_rows = row.max() - row0 + 1
    shifts = ((np.arange(n_rows) + row0) % 2) * 0.5 * brick_l \
        + rng.normal(0.0, 0.08 * brick_l, n_rows)
    fv = v - row * brick_h
    fu = u + shifts[row - row0]
    col = np.floor(fu / brick_l).astype(int)
    gu = fu - col * brick_l
    mortar = (fv < thick) | (gu < thick)
    col0 = col.min()
    ids = (row - row0) * (col.max() - col0 + 1) + (col - col0)
    ids[mortar] = -1
    return mortar, ids


def _palette(rng: np.random.Generator, style: str) -> tuple[np.ndarray, float, np.ndarray]:
    """Mean brick colour, per-brick spread, mortar colour."""
    if style == "ood_colour":
        choice = rng.integers(3)
        if choice == 0:  # light grey bricks, dark mortar
            return (np.array([0.78, 0.78, 0.74]), 0.05, np.array([0.22, 0.22, 0.24]))
        if choice == 1:  # yellow bricks, grey mortar
            return (np.array([0.80, 0.68, 0.30]), 0.06, np.array([0.55, 0.55, 0.55]))
        return (np.array([0.20, 0.35, 0.55]), 0.06, np.array([0.85, 0.85, 0.80]))  # blue paint
    brick = np.array([0.56, 0.24, 0.16]) * rng.uniform(0.8, 1.15)
    mortar = np.array([0.72, 0.70, 0.65]) * rng.uniform(0.85, 1.1)
    return brick, 0.07, mortar


def render_wall(mortar: np.ndarray, ids: np.ndarray, rng: np.random.Generator,
                style: str = "id", occluders: bool = True) -> np.ndarray:
    """RGB float32 image in [0, 1] of the wall ``(mortar, ids)`` in the given style."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}")
    size = mortar.shape[0]
    brick_rgb, spread, mortar_rgb = _palette(rng, style)
    n_ids = int(ids.max()) + 1
    colours = np.clip(brick_rgb + rng.normal(0, spread, (n_ids, 1))
                      + rng.normal(0, spread / 3, (n_ids, 3)), 0, 1)
    img = np.where(mortar[..., None], mortar_rgb, colours[np.maximum(ids, 0)])
    # texture from a real brick-wall photograph, random crop and zoom
    tex = _brick_texture()
    strong = style == "ood_texture"
    zoom = rng.uniform(0.8, 1.6) if strong else rng.uniform(0.25, 0.5)
    crop = int(min(tex.shape[0] - 1, size / zoom))
    y0, x0 = rng.integers(0, tex.shape[0] - crop, 2)
    patch = ndi.zoom(tex[y0:y0 + crop, x0:x0 + crop], size / crop, order=1)[:size, :size]
    img = img * (1 + (0.30 if strong else 0.12) * patch[..., None])
    # mortar is rough, lighting gradient, vignette and a cast shadow
    img = img * (1 + 0.06 * rng.standard_normal((size, size, 1)) * mortar[..., None])
    yy, xx = np.mgrid[0:size, 0:size] / size
    phi = rng.uniform(0, 2 * np.pi)
    light = 1 + rng.uniform(-0.25, 0.25) * (np.cos(phi) * (xx - 0.5) + np.sin(phi) * (yy - 0.5))
    light -= rng.uniform(0.0, 0.25) * ((xx - 0.5) ** 2 + (yy - 0.5) ** 2)
    if rng.random() < 0.4:
        a, b = rng.normal(size=2)
        side = a * (xx - rng.random()) + b * (yy - rng.random()) > 0
        light = light * np.where(ndi.gaussian_filter(side.astype(float), 3) > 0.5, 0.6, 1.0)
    img = img * light[..., None]
    if occluders:
        img = _add_occluders(img, rng)
    img = ndi.gaussian_filter(img, sigma=(rng.uniform(0.4, 0.8),) * 2 + (0,))
    noise = 0.10 if strong else rng.uniform(0.01, 0.04)
    img = img + noise * rng.standard_normal(img.shape)
    return np.clip(img, 0, 1).astype(np.float32)


def _add_occluders(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from skimage.draw import ellipse, line_aa

    size = img.shape[0]
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        kind = rng.integers(3)
        if kind == 0:  # a cable across the wall
            r0, c0, r1, c1 = rng.integers(0, size, 4)
            layer = np.zeros(img.shape[:2])
            rr, cc, val = line_aa(r0, c0, r1, c1)
            layer[rr, cc] = val
            layer = ndi.grey_dilation(layer, size=int(rng.integers(2, 4)))
            colour = rng.uniform(0.05, 0.2, 3)
            img = img * (1 - layer[..., None]) + colour * layer[..., None]
        else:  # a leaf (opaque) or a stain (translucent)
            rr, cc = ellipse(rng.integers(0, size), rng.integers(0, size),
                             rng.uniform(3, 9), rng.uniform(3, 9), shape=img.shape[:2],
                             rotation=rng.uniform(0, np.pi))
            alpha = 1.0 if kind == 1 else rng.uniform(0.4, 0.7)
            colour = np.array([0.15, 0.45, 0.12]) * rng.uniform(0.7, 1.3) if kind == 1 \
                else rng.uniform(0.05, 0.35, 3)
            img[rr, cc] = (1 - alpha) * img[rr, cc] + alpha * colour
    return img


def noisy_label(mortar: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Accurate mask corrupted like a hurried annotation (gaps, thickness, strokes, shift)."""
    from skimage.draw import disk, line

    size = mortar.shape[0]
    out = mortar.copy()
    # thicker / thinner in random patches
    for _ in range(3):
        r, c = rng.integers(0, size, 2)
        patch = np.zeros_like(out)
        patch[max(r - 12, 0):r + 12, max(c - 12, 0):c + 12] = True
        op = ndi.binary_dilation if rng.random() < 0.5 else ndi.binary_erosion
        out = np.where(patch, op(out), out)
    # gaps in the mortar
    ys, xs = np.nonzero(mortar)
    for i in rng.choice(len(ys), size=int(rng.integers(3, 9)), replace=False):
        rr, cc = disk((ys[i], xs[i]), rng.uniform(1.5, 3.0), shape=out.shape)
        out[rr, cc] = False
    # spurious strokes
    for _ in range(int(rng.integers(1, 4))):
        r0, c0 = rng.integers(0, size, 2)
        r1, c1 = np.clip([r0 + rng.integers(-8, 9), c0 + rng.integers(-8, 9)], 0, size - 1)
        rr, cc = line(r0, c0, r1, c1)
        out[rr, cc] = True
    return np.roll(out, tuple(rng.integers(-1, 2, 2)), axis=(0, 1))


def pseudo_label(img: np.ndarray) -> np.ndarray:
    """Mortar by a local threshold of the smoothed grey image (bright, thin structures)."""
    from skimage.filters import threshold_local
    from skimage.morphology import remove_small_objects

    grey = ndi.gaussian_filter(img.mean(-1), 1.0)
    mask = grey > threshold_local(grey, block_size=25, offset=-0.02)
    return remove_small_objects(mask, max_size=20)


def make_wall(seed: int | tuple, size: int = 128, style: str = "id",
              label_type: str = "accurate") -> dict:
    """One wall: ``img`` float32 [H, W, 3], ``gt_seg`` uint8 [H, W] (1 = mortar) and, for
    noisy / pseudo variants, ``gt_seg_accurate``. Deterministic in ``seed``."""
    if label_type not in LABEL_TYPES:
        raise ValueError(f"label_type must be one of {LABEL_TYPES}, got {label_type!r}")
    rng = np.random.default_rng(seed)
    mortar, ids = wall_geometry(rng, size)
    img = render_wall(mortar, ids, rng, style)
    sample = dict(img=img, gt_seg=mortar.astype(np.uint8))
    if label_type != "accurate":
        noisy = noisy_label(mortar, rng) if label_type == "noisy" else pseudo_label(img)
        sample.update(gt_seg=noisy.astype(np.uint8), gt_seg_accurate=mortar.astype(np.uint8))
    return sample


def write_wall_folder(out_dir: str, num: int, size: int = 128, split: str = "test",
                      label_type: str = "accurate", seed: int = 0) -> list[str]:
    """Write the first ``num`` walls of a ``BrickWalls`` split (same seeds, same images) as
    ``out_dir/images/NNN.png`` + ``out_dir/masks/NNN.png`` (mask values 0/255), atomically;
    returns the image paths."""
    from skimage.io import imsave

    if split not in WALL_SPLITS:
        raise ValueError(f"split must be one of {sorted(WALL_SPLITS)}, got {split!r}")
    style, _, stream = WALL_SPLITS[split]
    paths = []
    for sub in ("images", "masks"):
        os.makedirs(osp.join(out_dir, sub), exist_ok=True)
    for i in range(num):
        wall = make_wall((seed, stream, i), size, style, label_type)
        for sub, arr in (("images", (wall["img"] * 255).round().astype(np.uint8)),
                         ("masks", wall["gt_seg"] * np.uint8(255))):
            with atomic_path(osp.join(out_dir, sub, f"{i:03d}.png")) as tmp:
                imsave(tmp, arr, check_contrast=False)
        paths.append(osp.join(out_dir, "images", f"{i:03d}.png"))
    return paths
