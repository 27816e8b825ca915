"""NTU RGB+D 60/120 raw ``.skeleton`` files (Shahroudy et al. CVPR 2016; Liu et al. TPAMI
2019): reader, benchmark splits from file names, dataset.

A ``.skeleton`` file is text: the frame count; then per frame the body count; per body one
line of 10 values (bodyID, clippedEdges, handLeftConfidence, handLeftState,
handRightConfidence, handRightState, isRestricted, leanX, leanY, trackingState), the joint
count (25) and one line per joint of 12 values (x, y, z, depthX, depthY, colorX, colorY,
orientationW/X/Y/Z, trackingState).

Body selection follows the NTU preprocessing of CTR-GCN / SGN (``get_raw_skes_data.py``):
frames without bodies are dropped (counted in ``missing_frames``), bodies are tracked by
their bodyID, each body's motion is the summed variance of its joint coordinates
(``sum(var(joints.reshape(-1, 3), 0))``) and the two most active bodies are kept, the most
active first; a body absent from a frame is zero there.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from tqdm import tqdm

from zoo.config_overrides import describe_path
from zoo.registry import DATASETS

from .base import SkeletonDataset, SkeletonFormatError

NAME_PATTERN = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")

# Official cross-subject training subjects (NTU-60: Shahroudy et al. 2016; NTU-120 adds
# the rest of the list: Liu et al. 2019).
NTU60_XSUB_TRAIN = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
NTU120_XSUB_TRAIN = NTU60_XSUB_TRAIN + (
    45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85,
    86, 89, 91, 92, 93, 94, 95, 97, 98, 100, 103)
XVIEW_TRAIN_CAMERAS = (2, 3)
BENCHMARKS = ("xsub", "xview", "xsub120", "xset120")


def parse_ntu_name(name: str | Path) -> dict:
    """``setup, camera, subject, replication, action`` (1-based) from ``SsssCcccPpppRrrrAaaa``."""
    match = NAME_PATTERN.search(Path(name).name)
    if match is None:
        raise SkeletonFormatError(name, "name does not contain SsssCcccPpppRrrrAaaa")
    keys = ("setup", "camera", "subject", "replication", "action")
    return dict(zip(keys, (int(g) for g in match.groups())))


def is_training(name: str | Path, benchmark: str) -> bool:
    """Whether ``name`` is in the training part of ``benchmark``: ``xsub``/``xview``
    (NTU-60), ``xsub120``/``xset120`` (NTU-120; cross-setup trains on even setups)."""
    info = parse_ntu_name(name)
    if benchmark == "xsub":
        return info["subject"] in NTU60_XSUB_TRAIN
    if benchmark == "xview":
        return info["camera"] in XVIEW_TRAIN_CAMERAS
    if benchmark == "xsub120":
        return info["subject"] in NTU120_XSUB_TRAIN
    if benchmark == "xset120":
        return info["setup"] % 2 == 0
    raise ValueError(f"unknown NTU benchmark {benchmark!r}; use one of {BENCHMARKS}")


class _Lines:
    """Line cursor that names the file and line in its errors."""

    def __init__(self, path: Path):
        self.path = path
        self.lines = path.read_text().splitlines()
        self.i = 0

    def next(self, what: str) -> list[str]:
        while self.i < len(self.lines) and not self.lines[self.i].strip():
            self.i += 1
        if self.i >= len(self.lines):
            raise SkeletonFormatError(self.path, f"ends early: expected {what} after line "
                                                 f"{self.i}")
        self.i += 1
        return self.lines[self.i - 1].split()

    def integer(self, what: str) -> int:
        fields = self.next(what)
        if len(fields) != 1 or not fields[0].lstrip("-").isdigit() or int(fields[0]) < 0:
            raise SkeletonFormatError(self.path, f"line {self.i}: expected {what} (one "
                                                 f"non-negative integer), got {fields[:4]}")
        return int(fields[0])

    def floats(self, what: str, count: int) -> np.ndarray:
        fields = self.next(what)
        if len(fields) != count:
            raise SkeletonFormatError(self.path, f"line {self.i}: expected {count} values for "
                                                 f"{what}, got {len(fields)}")
        try:
            return np.array(fields, dtype=np.float64)
        except ValueError:
            raise SkeletonFormatError(self.path, f"line {self.i}: {what} holds text that is "
                                                 f"not a number") from None


def read_ntu_skeleton(path: str | Path, max_bodies: int = 2, num_joints: int = 25) -> dict:
    """Read one ``.skeleton`` file.

    Returns ``keypoint`` float32 ``[M, T, 25, 3]`` (metres, camera frame; ``M <= max_bodies``,
    most active body first), ``keypoint_score`` ``[M, T, 25]`` (the joint tracking state /
    2: 1 tracked, 0.5 inferred, 0 not tracked or body absent), ``total_frames`` (frames with at
    least one body), ``missing_frames`` (frames without any body) and ``num_bodies`` (distinct
    bodyIDs in the file).
    """
    path = Path(path)
    cur = _Lines(path)
    num_frames = cur.integer("the frame count")
    bodies: dict[str, dict] = {}
    valid = 0
    missing = 0
    for _ in range(num_frames):
        count = cur.integer("a body count")
        if count == 0:
            missing += 1
            continue
        for _ in range(count):
            info = cur.next("a body info line")
            if len(info) != 10:
                raise SkeletonFormatError(path, f"line {cur.i}: a body info line has 10 values, "
                                                f"got {len(info)}")
            joints = cur.integer("a joint count")
            if joints != num_joints:
                raise SkeletonFormatError(path, f"line {cur.i}: {joints} joints, expected "
                                                f"{num_joints}")
            rows = np.stack([cur.floats("a joint line", 12) for _ in range(joints)])
            body = bodies.setdefault(info[0], dict(frames=[], xyz=[], state=[]))
            body["frames"].append(valid)
            body["xyz"].append(rows[:, :3])
            body["state"].append(rows[:, 11])
        valid += 1
    if cur.i < len(cur.lines) and any(line.strip() for line in cur.lines[cur.i:]):
        raise SkeletonFormatError(path, f"has data after the {num_frames} frames it declares "
                                        f"(line {cur.i + 1})")
    if valid == 0:
        raise SkeletonFormatError(path, f"none of its {num_frames} frames holds a body")
    motion = {k: float(np.var(np.concatenate(b["xyz"]), axis=0).sum()) for k, b in
              bodies.items()}
    chosen = sorted(bodies, key=lambda k: -motion[k])[:max_bodies]
    kp = np.zeros((len(chosen), valid, num_joints, 3), dtype=np.float32)
    score = np.zeros((len(chosen), valid, num_joints), dtype=np.float32)
    for m, key in enumerate(chosen):
        body = bodies[key]
        kp[m, body["frames"]] = np.stack(body["xyz"])
        score[m, body["frames"]] = np.stack(body["state"]) / 2.0
    if not np.isfinite(kp).all():
        raise SkeletonFormatError(path, "holds NaN/inf joint coordinates")
    return dict(keypoint=kp, keypoint_score=score, total_frames=valid, missing_frames=missing,
                num_bodies=len(bodies))


@DATASETS.register_module()
class NTURGBD(SkeletonDataset):
    """NTU RGB+D 60 / 120 from raw ``.skeleton`` files.

    Args:
        data_root: folder of ``SsssCcccPpppRrrrAaaa.skeleton`` files.
        benchmark: ``xsub``, ``xview`` (NTU-60, actions 1-60) or ``xsub120``, ``xset120``.
        split: ``'train'``, ``'test'`` (``'val'``) or ``'all'``.
        max_bodies: bodies kept per sample (2).
        ignore: file stems to leave out (e.g. the official list of samples with missing
            skeletons).
    """

    METAINFO = dict(classes=tuple(f"A{i:03d}" for i in range(1, 121)), layout="ntu25")

    def __init__(self, data_root: str, benchmark: str = "xsub", split: str = "train",
                 max_bodies: int = 2, ignore=(), **kwargs):
        if benchmark not in BENCHMARKS:
            raise ValueError(f"unknown NTU benchmark {benchmark!r}; use one of {BENCHMARKS}")
        self.benchmark = benchmark
        self.max_bodies = max_bodies
        self.ignore = set(ignore)
        num = 60 if benchmark in ("xsub", "xview") else 120
        kwargs.setdefault("metainfo", dict(classes=self.METAINFO["classes"][:num]))
        super().__init__(split=split, data_root=data_root, **kwargs)

    def selection(self) -> str:
        ignored = f", {len(self.ignore)} ignored stems" if self.ignore else ""
        return f"split={self.split!r}, benchmark={self.benchmark!r}{ignored}"

    def load_samples(self) -> list[dict]:
        if self.split not in ("train", "test", "val", "all"):
            raise ValueError(f"NTURGBD split must be train/test/val/all, got {self.split!r}")
        files = sorted(Path(self.data_root).glob("*.skeleton"))
        if not files:
            raise FileNotFoundError(f"data_root {describe_path(self.data_root)}: no NTU "
                                    ".skeleton files")
        ntu60 = self.benchmark in ("xsub", "xview")
        samples = []
        for path in tqdm(files, desc="NTU .skeleton", disable=len(files) < 200):
            if path.stem in self.ignore:
                continue
            info = parse_ntu_name(path)
            if ntu60 and info["action"] > 60:
                continue
            if self.split != "all" and is_training(path, self.benchmark) != (self.split == "train"):
                continue
            sample = read_ntu_skeleton(path, self.max_bodies)
            sample.update(frame_dir=path.stem, label=info["action"] - 1, **info)
            samples.append(sample)
        return samples
