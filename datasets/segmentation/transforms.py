"""Transforms of 2-D/3-D segmentation samples (``img`` + ``gt_seg`` label map)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from zoo.registry import TRANSFORMS

from .structures import SegDataSample


@TRANSFORMS.register_module()
class LoadImageMask:
    """Read ``img_path`` (-> ``img`` float32 [H, W, C] in [0, 1]) and ``seg_path`` (->
    ``gt_seg`` uint8 label map). ``binarize=True`` maps every non-zero mask value to 1 (masks
    saved as 0/255); otherwise mask values are class indices. ``to_rgb`` repeats grey
    images to 3 channels and drops an alpha channel."""

    def __init__(self, binarize: bool = True, to_rgb: bool = True):
        self.binarize, self.to_rgb = binarize, to_rgb

    def __call__(self, results: dict) -> dict:
        from skimage.io import imread

        for key in ("img_path", "seg_path"):
            if key not in results:
                raise KeyError(f"LoadImageMask: sample has no {key!r}")
        try:
            img = imread(results["img_path"])
            seg = imread(results["seg_path"])
        except (OSError, ValueError) as err:
            raise OSError(f"LoadImageMask: cannot read {results['img_path']} or "
                          f"{results['seg_path']}: {err}") from err
        img = img.astype(np.float32) / (255.0 if img.dtype == np.uint8 else max(img.max(), 1))
        if self.to_rgb:
            if img.ndim == 2:
                img = np.repeat(img[..., None], 3, -1)
            elif img.shape[-1] == 4:
                img = img[..., :3]
        if seg.ndim == 3:  # an RGB(A) mask: any channel set
            seg = seg[..., :3].max(-1)
        if seg.shape != img.shape[:2]:
            raise ValueError(f"LoadImageMask: mask {results['seg_path']} has shape {seg.shape}, "
                             f"image {results['img_path']} has {img.shape[:2]}")
        results["img"] = img
        results["gt_seg"] = (seg > 0).astype(np.uint8) if self.binarize else seg.astype(np.uint8)
        return results


@TRANSFORMS.register_module()
class AlbuSeg:
    """albumentations 2-D augmentation of ``img`` and ``gt_seg`` together.

    ``transforms``: list of dicts ``dict(name='HorizontalFlip', p=0.5)`` naming
    ``albumentations`` classes (``name``, not ``type``: the zoo's config check reads ``type``
    as a zoo transform). Pixel-level transforms touch the image only; spatial ones
    move the mask with nearest-neighbour interpolation.
    """

    def __init__(self, transforms: Sequence[dict]):
        import albumentations as A

        steps = []
        for cfg in transforms:
            cfg = dict(cfg)
            name = cfg.pop("name", None) or cfg.pop("type", None)
            if not name or not hasattr(A, name):
                raise KeyError(f"AlbuSeg: {name!r} is not an albumentations transform")
            steps.append(getattr(A, name)(**cfg))
        self.compose = A.Compose(steps)

    def __call__(self, results: dict) -> dict:
        img = results["img"]
        is_float = img.dtype != np.uint8
        out = self.compose(image=np.ascontiguousarray(img), mask=results["gt_seg"])
        img = out["image"]
        results["img"] = np.clip(img, 0, 1).astype(np.float32) if is_float else img
        results["gt_seg"] = out["mask"]
        return results


def tubed_skeleton(seg: np.ndarray, dilations: int = 2) -> np.ndarray:
    """Skeleton of ``seg > 0`` (scikit-image, 2-D or 3-D), dilated ``dilations`` times with
    the cross / 6-neighbour footprint, carrying the class index of ``seg`` (0 elsewhere)."""
    from skimage.morphology import dilation, skeletonize

    seg = np.asarray(seg)
    if seg.ndim not in (2, 3):
        raise ValueError(f"tubed_skeleton needs a 2-D or 3-D label map, got shape {seg.shape}")
    fg = seg > 0
    if not fg.any():
        return np.zeros(seg.shape, dtype=np.uint8)
    skel = skeletonize(fg).astype(np.uint8)
    for _ in range(dilations):
        skel = dilation(skel)
    return (skel * seg).astype(np.uint8)


@TRANSFORMS.register_module()
class TubedSkeleton:
    """Adds ``gt_skel``: the tubed skeleton of ``gt_seg`` used by the Skeleton Recall loss
    (Kirchhoff et al., ECCV 2024: skeletonise the foreground, dilate twice, multiply by the
    label). Place it after the spatial augmentations."""

    def __init__(self, dilations: int = 2):
        self.dilations = dilations

    def __call__(self, results: dict) -> dict:
        if "gt_seg" not in results:
            raise KeyError("TubedSkeleton: sample has no 'gt_seg'")
        results["gt_skel"] = tubed_skeleton(results["gt_seg"], self.dilations)
        return results


@TRANSFORMS.register_module()
class PackSegInputs:
    """``img`` [H, W(, C)] or [D, H, W, C] -> ``inputs`` float [C, ...];
    ``gt_seg`` / ``gt_skel`` -> ``SegDataSample.gt_sem_seg`` / ``gt_skel`` (long)."""

    def __init__(self, meta_keys: Sequence[str] = ("img_id", "sample_idx")):
        self.meta_keys = tuple(meta_keys)

    def __call__(self, results: dict) -> dict:
        img = np.asarray(results["img"], dtype=np.float32)
        img = img[None] if img.ndim == 2 else np.moveaxis(img, -1, 0)
        sample = SegDataSample(metainfo={k: results[k] for k in self.meta_keys if k in results})
        if "gt_seg" in results:
            sample.gt_sem_seg = torch.from_numpy(np.asarray(results["gt_seg"]).astype(np.int64))
        if "gt_skel" in results:
            sample.gt_skel = torch.from_numpy(np.asarray(results["gt_skel"]).astype(np.int64))
        return {"inputs": torch.from_numpy(np.ascontiguousarray(img)), "data_samples": sample}
