"""Generated detection scenes: shapes pasted into real scikit-image photographs, seen in RGB
and in an infrared-like modality.

The IR-like image is computed from the RGB one the way a thermal camera differs from a
colour one to a detector: colour is lost (luminance only), polarity is inverted, the optics
blur it, and the contrast is remapped by a sensor curve (a logistic around the image median),
plus a little sensor noise; it has a single channel. Objects therefore keep their place (the
pair is aligned, as in LLVIP and aligned FLIR) but lose colour and change appearance.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

CLASSES = ("disk", "square", "triangle")

# scikit-image photographs shipped with the package (no download needed).
_RGB_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry",
               "hubble_deep_field", "retina")
_GREY_PHOTOS = ("camera", "coins", "grass", "gravel", "brick", "moon", "page")


@lru_cache(maxsize=1)
def photographs() -> tuple[np.ndarray, ...]:
    """The background photographs as float32 RGB in [0, 1], longest side at most 256 px."""
    from skimage import data, transform

    out = []
    for name in _RGB_PHOTOS + _GREY_PHOTOS:
        img = np.asarray(getattr(data, name)(), dtype=np.float32) / 255.0
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=-1)
        img = img[..., :3]
        scale = 256.0 / max(img.shape[:2])
        if scale < 1:
            img = transform.rescale(img, scale, channel_axis=-1, anti_aliasing=True)
        out.append(np.clip(img, 0, 1).astype(np.float32))
    return tuple(out)


def _crop(rng: np.random.Generator, photo: np.ndarray, size: int) -> np.ndarray:
    from skimage import transform

    h, w = photo.shape[:2]
    side = int(rng.uniform(0.35, 1.0) * min(h, w))
    y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
    patch = transform.resize(photo[y:y + side, x:x + side], (size, size), anti_aliasing=True)
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    return patch.astype(np.float32)


def _shape_mask(cls: int, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    if cls == 1:  # disk (ellipse filling the box)
        return (((yy - cy) / (h / 2)) ** 2 + ((xx - cx) / (w / 2)) ** 2 <= 1.0).astype(np.float32)
    if cls == 2:  # square (filled rectangle)
        return np.ones((h, w), np.float32)
    # triangle, apex at the top centre
    half = (yy + 1) / h * (w / 2)
    return (np.abs(xx - cx) <= half).astype(np.float32)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def rgb_to_ir(rgb: np.ndarray, rng: np.random.Generator | None = None, blur: float = 1.0,
              gain: float = 6.0, noise: float = 0.02) -> np.ndarray:
    """IR-like single-channel image [H, W, 1] in [0, 1] from an RGB image [H, W, 3].

    luminance -> inverted -> Gaussian blur (``blur`` px) -> logistic contrast curve of slope
    ``gain`` centred on the median -> Gaussian noise (``noise``) -> clipped to [0, 1].
    """
    from scipy.ndimage import gaussian_filter

    lum = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
    x = 1.0 - lum
    if blur > 0:
        x = gaussian_filter(x, blur)
    lo, hi = 1 / (1 + np.exp(gain * 0.5)), 1 / (1 + np.exp(-gain * 0.5))
    x = (1 / (1 + np.exp(-gain * (x - np.median(x)))) - lo) / (hi - lo)
    if noise > 0 and rng is not None:
        x = x + rng.normal(0, noise, x.shape)
    return np.clip(x, 0, 1).astype(np.float32)[..., None]


def make_scene(key, size: int = 128, max_objects: int = 3, min_frac: float = 0.15,
               max_frac: float = 0.38) -> dict:
    """One aligned RGB / IR pair with its boxes, a pure function of ``key``.

    Returns ``rgb`` uint8 [S, S, 3], ``ir`` uint8 [S, S, 1], ``bboxes`` float32 [N, 4]
    (``x1, y1, x2, y2``, pixel edges), ``labels`` int64 [N] (1 = disk, 2 = square,
    3 = triangle). Objects are filled with a random colour modulated by the texture of another
    photograph and pasted with a soft edge; they overlap each other by at most IoU 0.15.
    """
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(list(np.atleast_1d(key)))
    photos = photographs()
    img = _crop(rng, photos[rng.integers(len(photos))], size)
    boxes: list[np.ndarray] = []
    labels: list[int] = []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        for _attempt in range(20):
            cls = int(rng.integers(1, len(CLASSES) + 1))
            side = rng.uniform(min_frac, max_frac) * size
            aspect = rng.uniform(0.75, 1.33)
            h = int(np.clip(round(side * aspect), 8, size - 2))
            w = int(np.clip(round(side / aspect), 8, size - 2))
            y0, x0 = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
            box = np.array([x0, y0, x0 + w, y0 + h], np.float32)
            if all(_iou(box, b) <= 0.15 for b in boxes):
                break
        else:
            continue
        mask = gaussian_filter(_shape_mask(cls, h, w, rng), 0.6)
        texture = _crop(rng, photos[rng.integers(len(photos))], max(h, w))[:h, :w].mean(-1)
        colour = rng.uniform(0, 1, 3).astype(np.float32)
        colour[rng.integers(3)] = rng.uniform(0.8, 1.0)  # saturated colours
        fill = colour * (0.7 + 0.3 * texture[..., None])
        region = img[y0:y0 + h, x0:x0 + w]
        img[y0:y0 + h, x0:x0 + w] = region * (1 - mask[..., None]) + fill * mask[..., None]
        ys, xs = np.nonzero(mask > 0.5)
        boxes.append(np.array([x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1,
                               y0 + ys.max() + 1], np.float32))
        labels.append(cls)
    rgb = np.clip(img, 0, 1)
    ir = rgb_to_ir(rgb, rng)
    return dict(rgb=(rgb * 255 + 0.5).astype(np.uint8), ir=(ir * 255 + 0.5).astype(np.uint8),
                bboxes=np.asarray(boxes, np.float32).reshape(-1, 4),
                labels=np.asarray(labels, np.int64))
