"""Detection pipeline transforms: load an image, flip, pack into ``DetDataSample``."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from zoo.registry import TRANSFORMS

from .structures import DetDataSample, make_instances


def read_image(path: str, channels: int) -> np.ndarray:
    """Read ``path`` as float32 [H, W, channels] in [0, 1] (1 = grey, 3 = RGB)."""
    import skimage.io

    try:
        img = skimage.io.imread(path)
    except Exception as exc:  # imageio raises several types
        raise OSError(f"cannot read image {path}: {exc}") from exc
    img = np.asarray(img)
    if img.dtype == np.uint8:
        img = img.astype(np.float32) / 255.0
    elif img.dtype == np.uint16:
        img = img.astype(np.float32) / 65535.0
    else:
        img = img.astype(np.float32)
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[-1] == 4:
        img = img[..., :3]
    if channels == 1 and img.shape[-1] == 3:
        # IR images of LLVIP / FLIR are stored as 3 equal channels: keep their mean.
        img = img.mean(-1, keepdims=True)
    elif channels == 3 and img.shape[-1] == 1:
        img = np.repeat(img, 3, axis=-1)
    return np.ascontiguousarray(img)


@TRANSFORMS.register_module()
class LoadDetImage:
    """``img_path`` -> ``img`` float32 [H, W, C] in [0, 1]; ``channels`` 1 (IR) or 3 (RGB)."""

    def __init__(self, channels: int = 1):
        if channels not in (1, 3):
            raise ValueError(f"LoadDetImage channels must be 1 or 3, got {channels}")
        self.channels = channels

    def __call__(self, results: dict) -> dict:
        img = read_image(results["img_path"], self.channels)
        h, w = results.get("height"), results.get("width")
        if h is not None and (img.shape[0], img.shape[1]) != (h, w):
            raise ValueError(f"image {results['img_path']} is {img.shape[1]}x{img.shape[0]} "
                             f"but its annotation says {w}x{h}")
        results["img"] = img
        return results


@TRANSFORMS.register_module()
class RandomFlipDet:
    """Horizontal flip of ``img`` and ``bboxes`` with probability ``prob``."""

    def __init__(self, prob: float = 0.5):
        self.prob = prob

    def __call__(self, results: dict) -> dict:
        if np.random.rand() < self.prob:
            img = results["img"]
            w = img.shape[1]
            results["img"] = np.ascontiguousarray(img[:, ::-1])
            boxes = np.asarray(results["bboxes"], dtype=np.float32).reshape(-1, 4).copy()
            boxes[:, [0, 2]] = w - boxes[:, [2, 0]]
            results["bboxes"] = boxes
        return results


@TRANSFORMS.register_module()
class PackDetInputs:
    """``img`` [H, W, C] (float in [0, 1] or uint8) -> ``inputs`` float [C, H, W];
    ``bboxes`` / ``labels`` -> ``DetDataSample.gt_instances``; ``meta_keys`` go to the
    metainfo."""

    def __init__(self, meta_keys: Sequence[str] = ("img_id", "img_path", "sample_idx")):
        self.meta_keys = tuple(meta_keys)

    def __call__(self, results: dict) -> dict:
        img = np.asarray(results["img"])
        img = img.astype(np.float32) / 255.0 if img.dtype == np.uint8 else img.astype(np.float32)
        if img.ndim == 2:
            img = img[..., None]
        meta = {k: results[k] for k in self.meta_keys if k in results}
        meta["img_shape"] = (int(img.shape[0]), int(img.shape[1]))
        sample = DetDataSample(metainfo=meta)
        sample.gt_instances = make_instances(results.get("bboxes", np.zeros((0, 4))),
                                             results.get("labels", np.zeros((0,))))
        inputs = torch.from_numpy(np.ascontiguousarray(np.moveaxis(img, -1, 0)))
        return {"inputs": inputs, "data_samples": sample}
