"""Skeleton augmentations of self-supervised pre-training (dict in, dict out).

The strengths and the order of HiCLR's growing augmentation chain (Zhang, Lin & Liu, AAAI
2023, official ``feeder/tools.py``, inherited from AimCLR / CrosSCLR) are the defaults:
temporal crop (reflect padding T // 6), shear 0.5, then for the strong views spatial flip,
rotation (one main axis 0-30 degrees, the others 0-1), Gaussian noise (std 0.01, p 0.5),
Gaussian blur along time (kernel 15, sigma 0.1-2, p 0.5) and axis mask (p 0.5).

Every transform reads and writes ``keypoint`` ``[M, T, V, C]`` (float32) and draws from
NumPy's global generator (seeded per worker by mmengine), like the other pipeline
transforms. Each has a pure function (``apply_*``) that a test can check on a hand case.
:class:`MultiViewSkeleton` runs several pipelines on copies of one sample and stacks the
results: the views of contrastive learning.
"""
from __future__ import annotations

import copy
from typing import Sequence

import numpy as np
from mmengine.dataset import Compose
from zoo.models.skeleton.graph import get_layout

from zoo.registry import TRANSFORMS


def _valid(kp: np.ndarray) -> np.ndarray:
    """``[M, T, V, 1]`` mask of the joints that are not padding (all-zero)."""
    return (np.abs(kp).sum(-1, keepdims=True) > 0).astype(kp.dtype)


# --- spatial ----------------------------------------------------------------------------------
def apply_shear(kp: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``x' = R x`` for every joint (``kp @ R.T``), as the official ``shear``."""
    return (kp @ matrix.T).astype(np.float32)


@TRANSFORMS.register_module()
class RandomShear:
    """Shear: ``R`` with ones on the diagonal and off-diagonal entries drawn from
    ``U(-amplitude, amplitude)`` (HiCLR / AimCLR ``shear``, amplitude 0.5), applied to every
    3-D joint; padding stays zero."""

    def __init__(self, amplitude: float = 0.5, p: float = 1.0):
        self.amplitude, self.p = amplitude, p

    def __call__(self, results: dict) -> dict:
        if np.random.rand() >= self.p:
            return results
        kp = results["keypoint"]
        c = kp.shape[-1]
        matrix = np.eye(c) + np.random.uniform(-self.amplitude, self.amplitude, (c, c)) \
            * (1 - np.eye(c))
        results["keypoint"] = apply_shear(kp, matrix) * _valid(kp)
        return results


def left_right_permutation(layout: str) -> np.ndarray:
    """Joint order that swaps every ``left_*`` joint with its ``right_*`` partner of the
    layout (other joints stay): ``kp[..., perm, :]`` is the left-right flipped body."""
    names = get_layout(layout).joints
    index = {n: i for i, n in enumerate(names)}
    perm = np.arange(len(names))
    for name, i in index.items():
        for a, b in (("left_", "right_"), ("right_", "left_")):
            if name.startswith(a):
                partner = b + name[len(a):]
                if partner not in index:
                    raise KeyError(f"layout {layout!r}: joint {name!r} has no {partner!r}")
                perm[i] = index[partner]
    return perm


@TRANSFORMS.register_module()
class RandomSpatialFlip:
    """Left-right flip: with probability ``p`` every left joint takes its right partner's
    place and vice versa (pairs from the layout's joint names). As the official
    ``random_spatial_flip`` the coordinates are not mirrored; ``mirror_axis`` (0 = x)
    also negates that coordinate, for a geometrically mirrored body."""

    def __init__(self, layout: str = "ntu25", p: float = 0.5, mirror_axis: int | None = None):
        self.perm = left_right_permutation(layout)
        self.p, self.mirror_axis = p, mirror_axis

    def __call__(self, results: dict) -> dict:
        if np.random.rand() >= self.p:
            return results
        kp = results["keypoint"][..., self.perm, :].copy()
        if self.mirror_axis is not None:
            kp[..., self.mirror_axis] *= -1
        results["keypoint"] = kp
        return results


def rotation_matrix(axis: int, angle: float) -> np.ndarray:
    """Right-handed rotation by ``angle`` (radians) about coordinate ``axis`` (0 x, 1 y, 2 z)."""
    c, s = np.cos(angle), np.sin(angle)
    i, j = [a for a in range(3) if a != axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


@TRANSFORMS.register_module()
class RandomMainAxisRotate:
    """HiCLR's ``random_rotate``: one random main axis turns by ``U(0, main_deg)`` degrees,
    the other two by ``U(0, other_deg)`` (30 and 1 in the official code), applied in the
    order x, y, z."""

    def __init__(self, main_deg: float = 30.0, other_deg: float = 1.0, p: float = 1.0):
        self.main_deg, self.other_deg, self.p = main_deg, other_deg, p

    def __call__(self, results: dict) -> dict:
        if np.random.rand() >= self.p:
            return results
        main = np.random.randint(3)
        rot = np.eye(3)
        for axis in range(3):
            deg = np.random.uniform(0, self.main_deg if axis == main else self.other_deg)
            rot = rotation_matrix(axis, np.radians(deg)) @ rot
        kp = results["keypoint"]
        results["keypoint"] = (kp @ rot.T).astype(np.float32)
        return results


@TRANSFORMS.register_module()
class RandomAxisMask:
    """Axis mask (HiCLR ``axis_mask``): with probability ``p`` one random coordinate axis is
    set to zero in every frame and joint."""

    def __init__(self, p: float = 0.5):
        self.p = p

    def __call__(self, results: dict) -> dict:
        if np.random.rand() >= self.p:
            return results
        kp = results["keypoint"].copy()
        kp[..., np.random.randint(kp.shape[-1])] = 0
        results["keypoint"] = kp
        return results


@TRANSFORMS.register_module()
class RandomGaussianNoise:
    """Add ``N(0, std^2)`` noise to every coordinate with probability ``p`` (HiCLR
    ``gaus_noise``: std 0.01, p 0.5); padding stays zero."""

    def __init__(self, std: float = 0.01, p: float = 0.5):
        self.std, self.p = std, p

    def __call__(self, results: dict) -> dict:
        if np.random.rand() >= self.p:
            return results
        kp = results["keypoint"]
        noise = np.random.normal(0.0, self.std, kp.shape)
        results["keypoint"] = ((kp + noise) * _valid(kp)).astype(np.float32)
        return results


@TRANSFORMS.register_module()
class RandomJointDrop:
    """Joint drop: with probability ``p``, ``round(ratio * V)`` random joints are zeroed in
    every frame (of every body)."""

    def __init__(self, ratio: float = 0.1, p: float = 1.0):
        if not 0 <= ratio <= 1:
            raise ValueError(f"RandomJointDrop ratio must be in [0, 1], got {ratio}")
        self.ratio, self.p = ratio, p

    def __call__(self, results: dict) -> dict:
        if np.random.rand() >= self.p:
            return results
        kp = results["keypoint"].copy()
        v = kp.shape[2]
        kp[:, :, np.random.choice(v, int(round(self.ratio * v)), replace=False)] = 0
        results["keypoint"] = kp
        return results


# --- temporal ---------------------------------------------------------------------------------
@TRANSFORMS.register_module()
class RandomFrameDrop:
    """Frame drop: with probability ``p``, ``round(ratio * T)`` random frames are zeroed
    (the clip keeps its length)."""

    def __init__(self, ratio: float = 0.1, p: float = 1.0):
        if not 0 <= ratio <= 1:
            raise ValueError(f"RandomFrameDrop ratio must be in [0, 1], got {ratio}")
        self.ratio, self.p = ratio, p

    def __call__(self, results: dict) -> dict:
        if np.random.rand() >= self.p:
            return results
        kp = results["keypoint"].copy()
        t = kp.shape[1]
        kp[:, np.random.choice(t, int(round(self.ratio * t)), replace=False)] = 0
        results["keypoint"] = kp
        return results


def apply_reflect_crop(kp: np.ndarray, pad: int, start: int) -> np.ndarray:
    """Pad ``pad`` frames on each side by reflection (the first ``pad`` frames reversed,
    and the last ``pad``), then keep ``T`` frames from ``start`` (0..2 pad)."""
    t = kp.shape[1]
    if pad == 0:
        return kp
    padded = np.concatenate([kp[:, :pad][:, ::-1], kp, kp[:, -pad:][:, ::-1]], 1)
    return np.ascontiguousarray(padded[:, start:start + t])


@TRANSFORMS.register_module()
class RandomTemporalReflectCrop:
    """HiCLR's ``temperal_crop``: reflect-pad ``T // padding_ratio`` frames on both sides and
    crop ``T`` frames at a random offset (``padding_ratio`` 6 in the official configs)."""

    def __init__(self, padding_ratio: int = 6):
        self.padding_ratio = padding_ratio

    def __call__(self, results: dict) -> dict:
        kp = results["keypoint"]
        pad = kp.shape[1] // self.padding_ratio
        start = np.random.randint(0, 2 * pad + 1)
        results["keypoint"] = apply_reflect_crop(kp, pad, start)
        return results


def apply_crop_resize(kp: np.ndarray, start: float, length: float, out_len: int
                      ) -> np.ndarray:
    """Linearly interpolate ``out_len`` frames evenly spaced over ``[start, start + length -
    1]`` (frame coordinates) of ``kp [M, T, V, C]``."""
    t = kp.shape[1]
    pos = np.linspace(start, start + length - 1, out_len)
    pos = np.clip(pos, 0, t - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, t - 1)
    w = (pos - lo)[None, :, None, None]
    return ((1 - w) * kp[:, lo] + w * kp[:, hi]).astype(np.float32)


@TRANSFORMS.register_module()
class RandomTemporalCropResize:
    """Temporal crop-resize: a window of ``U(*ratio) * T`` frames at a random start, resized
    by linear interpolation to ``clip_len`` frames (``T`` when ``clip_len`` is None)."""

    def __init__(self, ratio: Sequence[float] = (0.5, 1.0), clip_len: int | None = None):
        lo, hi = ratio
        if not 0 < lo <= hi <= 1:
            raise ValueError(f"RandomTemporalCropResize ratio must be 0 < lo <= hi <= 1, "
                             f"got {ratio}")
        self.ratio, self.clip_len = (lo, hi), clip_len

    def __call__(self, results: dict) -> dict:
        kp = results["keypoint"]
        t = kp.shape[1]
        length = max(2.0, np.random.uniform(*self.ratio) * t) if t > 1 else 1.0
        start = np.random.uniform(0, t - length) if t > length else 0.0
        results["keypoint"] = apply_crop_resize(kp, start, length, self.clip_len or t)
        return results


def gaussian_kernel(kernel: int, sigma: float, normalize: bool = True) -> np.ndarray:
    """1-D Gaussian weights ``exp(-k^2 / (2 sigma^2))`` for ``k = -kernel//2 .. kernel//2``."""
    k = np.arange(kernel) - kernel // 2
    w = np.exp(-k.astype(np.float64) ** 2 / (2 * sigma ** 2))
    return w / w.sum() if normalize else w


def apply_temporal_blur(kp: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Convolve every joint coordinate along T with ``weights`` (zero padding, same length)."""
    t = kp.shape[1]
    r = len(weights) // 2
    padded = np.pad(kp, ((0, 0), (r, r), (0, 0), (0, 0)))
    out = np.zeros_like(kp, dtype=np.float64)
    for i, w in enumerate(weights):
        out += w * padded[:, i:i + t]
    return out.astype(np.float32)


@TRANSFORMS.register_module()
class RandomGaussianBlur:
    """Gaussian blur along time with probability ``p`` (HiCLR ``gaus_filter``: kernel 15,
    sigma ``U(0.1, 2)``, p 0.5, zero padding). The official kernel is not normalised (it
    scales the sequence by the kernel's sum, up to about 5 at sigma 2); ``normalize=False``
    reproduces that, the default is a true blur (weights summing to one)."""

    def __init__(self, kernel: int = 15, sigma: Sequence[float] = (0.1, 2.0), p: float = 0.5,
                 normalize: bool = True):
        if kernel % 2 == 0:
            raise ValueError(f"RandomGaussianBlur kernel must be odd, got {kernel}")
        self.kernel, self.sigma, self.p, self.normalize = kernel, tuple(sigma), p, normalize

    def __call__(self, results: dict) -> dict:
        if np.random.rand() >= self.p:
            return results
        weights = gaussian_kernel(self.kernel, np.random.uniform(*self.sigma), self.normalize)
        results["keypoint"] = apply_temporal_blur(results["keypoint"], weights)
        return results


# --- views ------------------------------------------------------------------------------------
@TRANSFORMS.register_module()
class MultiViewSkeleton:
    """Run each pipeline of ``views`` on its own copy of the sample and stack the results'
    ``keypoint`` arrays on a new first axis: ``[num_views, ...]`` (each view must end in the
    same shape, e.g. with ``FormatGCNInput``). Keys other than ``keypoint`` come from the
    first view."""

    def __init__(self, views: Sequence[Sequence[dict]]):
        if len(views) < 1:
            raise ValueError("MultiViewSkeleton needs at least one view pipeline")
        self.views = [Compose([TRANSFORMS.build(t) if isinstance(t, dict) else t for t in v])
                      for v in views]

    def __call__(self, results: dict) -> dict:
        outs = [view(copy.deepcopy(results)) for view in self.views]
        shapes = {o["keypoint"].shape for o in outs}
        if len(shapes) != 1:
            raise ValueError(f"MultiViewSkeleton views end in different shapes {sorted(shapes)}")
        first = outs[0]
        first["keypoint"] = np.stack([o["keypoint"] for o in outs])
        return first
