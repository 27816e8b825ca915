"""Procedurally generated skeleton actions on the NTU-25 body: the zoo's embedded default.

Each class is a periodic movement of a simple kinematic body (arms, legs, torso bend, body
height above the ground). Every sample varies speed (cycles and phase), amplitude, body
size and limb proportions, viewpoint (rotation about the vertical axis), sequence length and
sensor noise, all drawn from a seeded generator, so a split is the same on every machine.
"""
from __future__ import annotations

import numpy as np

from zoo.registry import DATASETS

from .base import SkeletonDataset

ACTIONS = ("wave right hand", "wave left hand", "raise both arms", "squat", "kick right leg",
           "jump", "bow", "clap", "punch right", "march in place")

# Rest joints in the body frame (metres; x to the body's left, y up, z forward).
_REST = {0: (0, 0.0, 0), 1: (0, 0.25, 0), 20: (0, 0.5, 0), 2: (0, 0.58, 0), 3: (0, 0.72, 0.02)}
_SHOULDER = {"left": (4, (0.18, 0.48, 0)), "right": (8, (-0.18, 0.48, 0))}
_ARM = {"left": (4, 5, 6, 7, 21, 22), "right": (8, 9, 10, 11, 23, 24)}
_LEG = {"left": (12, 13, 14, 15), "right": (16, 17, 18, 19)}
_HIP_X = {"left": 0.1, "right": -0.1}
_SIDE = {"left": 1.0, "right": -1.0}


def _direction(elevation: np.ndarray, azimuth: np.ndarray, side: float) -> np.ndarray:
    """Unit vectors: elevation 0 hangs down, pi/2 is horizontal, pi points up; azimuth 0 is
    sideways out of the body, pi/2 forward."""
    s = np.sin(elevation)
    return np.stack([side * s * np.cos(azimuth), -np.cos(elevation), s * np.sin(azimuth)], -1)


def _half(p):
    """0 -> 1 -> 0 over a cycle."""
    return 0.5 - 0.5 * np.cos(p)


def _pos(p):
    return np.maximum(0.0, np.sin(p))


def _angles(action: int, p: np.ndarray, amp: float) -> dict:
    """Joint angles per frame for one action (arm elevation/azimuth, hip/knee flexion,
    torso bend, jump height)."""
    z = np.zeros_like(p)
    a = dict(
        arm_left=(z + 0.15, z, z + 0.2, z + 0.3), arm_right=(z + 0.15, z, z + 0.2, z + 0.3),
        leg_left=(z, z), leg_right=(z, z), bend=z, lift=z,
    )
    if action in (0, 1):  # wave: arm out and up, forearm swinging side to side
        side = "arm_right" if action == 0 else "arm_left"
        a[side] = (z + 1.9, z, 2.7 + 0.45 * amp * np.sin(p), z)
    elif action == 2:  # raise both arms overhead
        e = 0.15 + 2.6 * amp * _half(p)
        a["arm_left"] = a["arm_right"] = (e, z + 0.2, e, z + 0.2)
    elif action == 3:  # squat, arms forward for balance
        s = amp * _half(p)
        a["leg_left"] = a["leg_right"] = (1.3 * s, 2.2 * s)
        a["bend"] = 0.45 * s
        a["arm_left"] = a["arm_right"] = (0.15 + 1.3 * s, z + 1.5, 0.2 + 1.3 * s, z + 1.5)
    elif action == 4:  # kick with the right leg
        k = amp * _pos(p)
        a["leg_right"] = (1.4 * k, 0.3 * k)
        a["leg_left"] = (z, 0.15 * k)
    elif action == 5:  # jump: crouch, then take off with arms swinging up
        up, down = _pos(p), _pos(-p)
        a["leg_left"] = a["leg_right"] = (0.5 * down, 1.0 * down)
        a["lift"] = 0.3 * amp * up
        a["arm_left"] = a["arm_right"] = (0.15 + 1.8 * up, z + 1.3, 0.2 + 1.8 * up, z + 1.3)
    elif action == 6:  # bow
        a["bend"] = 1.1 * amp * _half(p)
    elif action == 7:  # clap in front of the chest
        open_ = 0.35 * amp * (0.5 + 0.5 * np.sin(p))
        a["arm_left"] = a["arm_right"] = (z + 1.45, 1.35 - open_, z + 1.5, 1.75 - open_)
    elif action == 8:  # punch forward with the right arm
        bent = _half(p) * amp
        a["arm_right"] = (z + 1.5, z + 1.5, 1.5 + 1.3 * (1 - bent), z + 1.5)
        a["arm_left"] = (z + 1.1, z + 1.4, z + 2.2, z + 1.4)
    elif action == 9:  # march in place, arms swinging opposite
        left, right = _pos(p), _pos(p + np.pi)
        a["leg_left"], a["leg_right"] = (1.0 * amp * left, 1.6 * amp * left), \
            (1.0 * amp * right, 1.6 * amp * right)
        sw = 0.5 * amp * np.sin(p)
        a["arm_left"] = (0.15 + np.abs(sw), np.where(sw < 0, 1.57, -1.57), 0.3 + np.abs(sw), z)
        a["arm_right"] = (0.15 + np.abs(sw), np.where(sw > 0, 1.57, -1.57), 0.3 + np.abs(sw), z)
    else:
        raise ValueError(f"unknown synthetic action {action}")
    return a


def _rotate_x(points: np.ndarray, angle: np.ndarray, pivot: np.ndarray) -> np.ndarray:
    """Lean points forward by ``angle`` (per frame) about the x axis through ``pivot``."""
    rel = points - pivot
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    y = rel[..., 1] * c - rel[..., 2] * s
    zz = rel[..., 1] * s + rel[..., 2] * c
    return np.stack([rel[..., 0], y, zz], -1) + pivot


def render_action(action: int, num_frames: int, rng: np.random.Generator) -> np.ndarray:
    """One sequence ``[T, 25, 3]`` (metres, camera frame) of ``action`` with random style."""
    cycles = rng.uniform(1.0, 3.0)
    p = 2 * np.pi * cycles * np.linspace(0, 1, num_frames) + rng.uniform(0, 2 * np.pi)
    amp = rng.uniform(0.75, 1.2)
    size = rng.uniform(0.8, 1.2)
    arm, forearm, thigh, shin = rng.uniform(0.9, 1.1, 4) * (0.28, 0.25, 0.42, 0.42)
    ang = _angles(action, p, amp)
    t = num_frames
    joints = np.zeros((t, 25, 3))
    for j, xyz in _REST.items():
        joints[:, j] = xyz
    upper = [0, 1, 20, 2, 3]
    for j, xyz in _SHOULDER.values():
        joints[:, j] = xyz
        upper.append(j)
    pivot = np.zeros(3)
    joints[:, upper] = _rotate_x(joints[:, upper], ang["bend"], pivot)
    for side, (sh, el, wr, ha, tip, th) in _ARM.items():
        e1, a1, e2, a2 = ang[f"arm_{side}"]
        d1 = _direction(e1, a1, _SIDE[side])
        d2 = _direction(e2, a2, _SIDE[side])
        joints[:, el] = joints[:, sh] + arm * d1
        joints[:, wr] = joints[:, el] + forearm * d2
        joints[:, ha] = joints[:, wr] + 0.08 * d2
        joints[:, tip] = joints[:, ha] + 0.05 * d2
        joints[:, th] = joints[:, wr] + 0.05 * d2 + np.array([0, 0, 0.03])
    for side, (hip, knee, ankle, foot) in _LEG.items():
        flex, bend = ang[f"leg_{side}"]
        joints[:, hip] = (_HIP_X[side], -0.02, 0)
        d1 = np.stack([0 * flex, -np.cos(flex), np.sin(flex)], -1)
        d2 = np.stack([0 * flex, -np.cos(flex - bend), np.sin(flex - bend)], -1)
        joints[:, knee] = joints[:, hip] + thigh * d1
        joints[:, ankle] = joints[:, knee] + shin * d2
        joints[:, foot] = joints[:, ankle] + np.array([0, -0.05, 0.12])
    ground = joints[:, [15, 19], 1].min(1)
    joints[..., 1] -= ground[:, None]
    joints[..., 1] += ang["lift"][:, None]
    joints *= size
    view = rng.uniform(-np.pi / 4, np.pi / 4)
    c, s = np.cos(view), np.sin(view)
    x, z = joints[..., 0] * c + joints[..., 2] * s, -joints[..., 0] * s + joints[..., 2] * c
    joints = np.stack([x, joints[..., 1], z], -1)
    joints += np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.9, -0.6), rng.uniform(2.5, 3.5)])
    joints += rng.normal(0, 0.01, joints.shape)
    return joints.astype(np.float32)


@DATASETS.register_module()
class SyntheticSkeletonActions(SkeletonDataset):
    """Ten procedurally generated actions on the NTU-25 skeleton (deterministic from ``seed``).

    Args:
        split: ``'train'`` or ``'test'`` (drawn from different seeds).
        num_per_class: samples of each class in the split.
        num_classes: use the first ``num_classes`` actions (2..10).
        frames: (min, max) sequence length.
        seed: base seed; the test split uses ``seed + 1``.
    """

    METAINFO = dict(classes=ACTIONS, layout="ntu25")

    def __init__(self, split: str = "train", num_per_class: int = 60, num_classes: int = 10,
                 frames: tuple[int, int] = (40, 80), seed: int = 0, **kwargs):
        if not 2 <= num_classes <= len(ACTIONS):
            raise ValueError(f"num_classes must be in 2..{len(ACTIONS)}, got {num_classes}")
        self.num_per_class = num_per_class
        self.num_classes = num_classes
        self.frames = frames
        self.seed = seed
        kwargs.setdefault("metainfo", dict(classes=ACTIONS[:num_classes]))
        super().__init__(split=split, **kwargs)

    def load_samples(self) -> list[dict]:
        offset = {"train": 0, "test": 1, "val": 1}.get(self.split)
        if offset is None:
            raise ValueError(f"SyntheticSkeletonActions split must be train/val/test, "
                             f"got {self.split!r}")
        rng = np.random.default_rng(self.seed + offset)
        samples = []
        for i in range(self.num_per_class * self.num_classes):
            label = i % self.num_classes
            t = int(rng.integers(self.frames[0], self.frames[1] + 1))
            joints = render_action(label, t, rng)
            samples.append(dict(frame_dir=f"synthetic_{self.split}_{i:05d}", label=label,
                                keypoint=joints[None], total_frames=t))
        return samples
