"""Skeleton pipeline transforms (dict in, dict out), as in PYSKL's pose pipelines.

Every transform reads and writes the common sample dict: ``keypoint`` float32 [M, T, V, C],
optional ``keypoint_score`` [M, T, V], ``total_frames``, ``label``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from zoo.layouts import get_layout
from zoo.registry import TRANSFORMS

# Joints that define the body frame of each 3-D layout: centre, spine (bottom, top) and
# shoulders (right, left).
BODY_FRAME = {
    "ntu25": dict(center=1, spine=(0, 1), shoulders=(8, 4)),
    "kinect20": dict(center=1, spine=(0, 1), shoulders=(8, 4)),
}


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation matrix turning direction ``a`` onto direction ``b`` (Rodrigues)."""
    a = a / (np.linalg.norm(a) + 1e-12)
    b = b / (np.linalg.norm(b) + 1e-12)
    v = np.cross(a, b)
    s, c = np.linalg.norm(v), float(np.dot(a, b))
    if s < 1e-8:
        if c > 0:
            return np.eye(3)
        # opposite directions: half-turn about any axis orthogonal to a
        axis = np.cross(a, [1.0, 0, 0] if abs(a[0]) < 0.9 else [0, 1.0, 0])
        axis /= np.linalg.norm(axis)
        return 2 * np.outer(axis, axis) - np.eye(3)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k * ((1 - c) / s**2)


@TRANSFORMS.register_module()
class PreNormalize3D:
    """Centre on the body centre of the first frame, turn the spine onto +z and the
    shoulders onto +x (PYSKL's ``PreNormalize3D``). Padding (all-zero joints) stays zero."""

    def __init__(self, layout: str = "ntu25", align_spine: bool = True,
                 align_shoulders: bool = True):
        layout = get_layout(layout).name
        if layout not in BODY_FRAME:
            raise KeyError(f"PreNormalize3D has no body frame for layout {layout!r}; "
                           f"known: {sorted(BODY_FRAME)}")
        self.frame = BODY_FRAME[layout]
        self.align_spine = align_spine
        self.align_shoulders = align_shoulders

    def __call__(self, results: dict) -> dict:
        kp = results["keypoint"].astype(np.float32)
        if kp.shape[-1] != 3:
            raise ValueError(f"PreNormalize3D needs 3-D joints, got C={kp.shape[-1]}")
        valid = np.abs(kp).sum(-1) > 0
        frames = np.where(valid[0].any(-1))[0]
        if len(frames) == 0:
            raise ValueError(f"{results.get('frame_dir', 'sample')}: the skeleton is all zeros")
        first = kp[0, frames[0]]
        kp = (kp - first[self.frame["center"]]) * valid[..., None]
        first = kp[0, frames[0]]
        if self.align_spine:
            bottom, top = self.frame["spine"]
            rot = rotation_between(first[top] - first[bottom], np.array([0.0, 0.0, 1.0]))
            kp = kp @ rot.T
            first = kp[0, frames[0]]
        if self.align_shoulders:
            right, left = self.frame["shoulders"]
            rot = rotation_between(first[right] - first[left], np.array([1.0, 0.0, 0.0]))
            kp = kp @ rot.T
        results["keypoint"] = kp.astype(np.float32)
        return results


@TRANSFORMS.register_module()
class UniformSampleFrames:
    """Sample ``clip_len`` frames spread uniformly over the sequence (PYSKL).

    Training: one random offset inside each of ``clip_len`` equal segments (a random
    contiguous window when the sequence is shorter than the clip, looping). Testing:
    ``num_clips`` clips with a fixed seed per clip, so results are reproducible.
    Writes ``frame_inds`` (``num_clips * clip_len``), ``clip_len`` and ``num_clips``.
    """

    def __init__(self, clip_len: int, num_clips: int = 1, test_mode: bool = False,
                 seed: int = 255):
        self.clip_len = clip_len
        self.num_clips = num_clips
        self.test_mode = test_mode
        self.seed = seed

    def _clip(self, num_frames: int, rng: np.random.Generator) -> np.ndarray:
        n, length = num_frames, self.clip_len
        if n < length:
            start = rng.integers(0, n) if not self.test_mode else 0
            return np.arange(start, start + length) % n
        if n < 2 * length:
            offset = np.zeros(length + 1, dtype=np.int64)
            offset[rng.choice(length + 1, n - length, replace=False)] = 1
            return np.arange(length) + np.cumsum(offset)[:-1]
        bounds = np.array([i * n // length for i in range(length + 1)])
        return bounds[:-1] + rng.integers(np.diff(bounds))

    def __call__(self, results: dict) -> dict:
        n = int(results["total_frames"])
        clips = []
        for k in range(self.num_clips):
            rng = np.random.default_rng(self.seed + k) if self.test_mode \
                else np.random.default_rng(np.random.randint(2**31))
            clips.append(self._clip(n, rng))
        results["frame_inds"] = np.concatenate(clips).astype(np.int64)
        results["clip_len"] = self.clip_len
        results["num_clips"] = self.num_clips
        return results


@TRANSFORMS.register_module()
class PoseDecode:
    """Gather the sampled frames ``frame_inds`` from ``keypoint`` (and ``keypoint_score``)."""

    def __call__(self, results: dict) -> dict:
        inds = results.get("frame_inds")
        if inds is None:
            inds = np.arange(results["keypoint"].shape[1])
        results["keypoint"] = results["keypoint"][:, inds].astype(np.float32)
        if "keypoint_score" in results:
            results["keypoint_score"] = results["keypoint_score"][:, inds].astype(np.float32)
        return results


def joint_to_bone(joints: np.ndarray, layout: str) -> np.ndarray:
    """Bone vectors: ``bone[child] = joint[child] - joint[parent]``; the centre stays zero."""
    bones = np.zeros_like(joints)
    for child, parent in get_layout(layout).bones:
        bones[..., child, :] = joints[..., child, :] - joints[..., parent, :]
    return bones


def to_motion(x: np.ndarray) -> np.ndarray:
    """Frame differences along T (axis 1 of [M, T, V, C]); the last frame gets zero."""
    motion = np.zeros_like(x)
    motion[:, :-1] = x[:, 1:] - x[:, :-1]
    return motion


@TRANSFORMS.register_module()
class GenSkeFeat:
    """Replace ``keypoint`` by one stream: joint ``'j'``, bone ``'b'``, joint motion ``'jm'``
    or bone motion ``'bm'`` (the four streams of 2s-AGCN / CTR-GCN / PYSKL). Several feats
    are concatenated along C."""

    def __init__(self, layout: str = "ntu25", feats: Sequence[str] = ("j",)):
        unknown = set(feats) - {"j", "b", "jm", "bm"}
        if unknown:
            raise KeyError(f"unknown skeleton stream(s) {sorted(unknown)}; use j, b, jm, bm")
        get_layout(layout)
        self.layout = layout
        self.feats = tuple(feats)

    def __call__(self, results: dict) -> dict:
        joints = results["keypoint"]
        bones = joint_to_bone(joints, self.layout) if {"b", "bm"} & set(self.feats) else None
        streams = {"j": lambda: joints, "b": lambda: bones,
                   "jm": lambda: to_motion(joints), "bm": lambda: to_motion(bones)}
        results["keypoint"] = np.concatenate([streams[f]() for f in self.feats], -1)
        return results


@TRANSFORMS.register_module()
class RandomRot:
    """Rotate 3-D joints by random angles in ``[-theta, theta]`` about x, y and z."""

    def __init__(self, theta: float = 0.3):
        self.theta = theta

    def __call__(self, results: dict) -> dict:
        ax, ay, az = np.random.uniform(-self.theta, self.theta, 3)
        rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
        ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
        rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
        kp = results["keypoint"]
        results["keypoint"] = (kp @ (rz @ ry @ rx).T.astype(np.float32)).astype(np.float32)
        return results


@TRANSFORMS.register_module()
class RandomScale:
    """Scale each coordinate axis by a random factor in ``[1 - scale, 1 + scale]``."""

    def __init__(self, scale: float = 0.1):
        self.scale = scale

    def __call__(self, results: dict) -> dict:
        c = results["keypoint"].shape[-1]
        factor = np.random.uniform(1 - self.scale, 1 + self.scale, c).astype(np.float32)
        results["keypoint"] = results["keypoint"] * factor
        return results


@TRANSFORMS.register_module()
class FormatGCNInput:
    """Pad or cut to ``num_person`` bodies and split clips: ``keypoint`` becomes
    ``[num_clips, M, clip_len, V, C]`` (scores appended as a channel if ``with_score``)."""

    def __init__(self, num_person: int = 2, with_score: bool = False):
        self.num_person = num_person
        self.with_score = with_score

    def __call__(self, results: dict) -> dict:
        kp = results["keypoint"]
        if self.with_score:
            kp = np.concatenate([kp, results["keypoint_score"][..., None]], -1)
        m = kp.shape[0]
        if m < self.num_person:
            pad = np.zeros((self.num_person - m, *kp.shape[1:]), dtype=kp.dtype)
            kp = np.concatenate([kp, pad], 0)
        kp = kp[: self.num_person]
        clips = results.get("num_clips", 1)
        m, t, v, c = kp.shape
        kp = kp.reshape(m, clips, t // clips, v, c).transpose(1, 0, 2, 3, 4)
        results["keypoint"] = np.ascontiguousarray(kp, dtype=np.float32)
        return results


@TRANSFORMS.register_module()
class PackSkeletonInputs:
    """Turn a sample dict into ``{'inputs': tensor, 'data_samples': ClsDataSample}``."""

    def __init__(self, meta_keys: Sequence[str] = ("frame_dir", "total_frames")):
        self.meta_keys = tuple(meta_keys)

    def __call__(self, results: dict) -> dict:
        import torch

        from zoo.structures import ClsDataSample

        sample = ClsDataSample(metainfo={k: results[k] for k in self.meta_keys if k in results})
        if "label" in results:
            sample.set_gt_label(int(results["label"]))
        return {"inputs": torch.from_numpy(results["keypoint"]), "data_samples": sample}
