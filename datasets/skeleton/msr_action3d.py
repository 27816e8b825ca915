"""MSR Action3D skeletons (Li, Zhang & Liu, CVPR workshops 2010): reader and dataset.

Files ``aAA_sSS_eEE_skeleton3D.txt`` hold one joint per line (``x y z confidence``, metres,
y up), 20 lines per frame. The reader reorders the joints into the zoo's ``kinect20`` layout
(the Kinect v1 SDK order of NW-UCLA), so one graph serves both data sets.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
from mmengine.logging import print_log

from zoo.config_overrides import describe_path
from zoo.registry import DATASETS

from .base import SkeletonDataset, SkeletonFormatError

FILE_PATTERN = re.compile(r"a(\d+)_s(\d+)_e(\d+)_skeleton3D\.txt$")

# kinect20 joint k is MSR joint MSR_TO_KINECT20[k] (0-based). MSR file order (1-based):
# 1 l-shoulder 2 r-shoulder 3 shoulder centre 4 spine 5 l-hip 6 r-hip 7 hip centre
# 8 l-elbow 9 r-elbow 10 l-wrist 11 r-wrist 12 l-hand 13 r-hand 14 l-knee 15 r-knee
# 16 l-ankle 17 r-ankle 18 l-foot 19 r-foot 20 head.
MSR_TO_KINECT20 = np.array(
    [7, 4, 3, 20, 1, 8, 10, 12, 2, 9, 11, 13, 5, 14, 16, 18, 6, 15, 17, 19]) - 1

ACTIONS = (
    "high arm wave", "horizontal arm wave", "hammer", "hand catch", "forward punch",
    "high throw", "draw x", "draw tick", "draw circle", "hand clap", "two hand wave",
    "side-boxing", "bend", "forward kick", "side kick", "jogging", "tennis swing",
    "tennis serve", "golf swing", "pick up & throw",
)


class EmptySkeletonError(SkeletonFormatError):
    """The file holds only zeros: no skeleton was tracked."""


def read_msr_skeleton(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one file; return joints ``[T, 20, 3]`` (kinect20 order) and confidence ``[T, 20]``.

    Raises :class:`SkeletonFormatError` naming the file for a line count that is not a
    multiple of 20, a line without exactly 4 numbers (naming the line), non-finite values, and
    :class:`EmptySkeletonError` for an all-zero file.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SkeletonFormatError(path, f"is not a text file ({exc.reason} at byte "
                                        f"{exc.start})") from None
    lines = [(number, line.split()) for number, line in enumerate(text.splitlines(), 1)]
    lines = [(number, parts) for number, parts in lines if parts]
    if not lines:
        raise SkeletonFormatError(path, "is empty (no joint lines)")
    # Count per line: an `x y z`-only file whose number count divides by 4 would otherwise
    # be reshaped into scrambled joints.
    for number, parts in lines:
        if len(parts) != 4:
            raise SkeletonFormatError(path, f"line {number} has {len(parts)} numbers, not 4 "
                                            "(x y z confidence)")
    try:
        rows = np.array([parts for _, parts in lines], dtype=np.float64)
    except ValueError as exc:
        raise SkeletonFormatError(path, f"holds text that is not a number ({exc})") from None
    if len(rows) % 20:
        raise SkeletonFormatError(
            path, f"has {len(rows)} joint lines, not a multiple of 20 joints per frame")
    if not np.isfinite(rows).all():
        line = lines[int(np.argwhere(~np.isfinite(rows))[0, 0])][0]
        raise SkeletonFormatError(path, f"holds NaN/inf values (line {line})")
    if not rows[:, :3].any():
        raise EmptySkeletonError(path, "is all zeros (no skeleton tracked)")
    frames = rows.reshape(-1, 20, 4)[:, MSR_TO_KINECT20]
    return frames[..., :3].astype(np.float32), frames[..., 3].astype(np.float32)


def parse_msr_name(path: Path) -> tuple[int, int, int]:
    """``(action, subject, execution)``, 1-based, from a file name."""
    match = FILE_PATTERN.search(path.name)
    if match is None:
        raise SkeletonFormatError(path, "name does not match aAA_sSS_eEE_skeleton3D.txt")
    return tuple(int(g) for g in match.groups())


@DATASETS.register_module()
class MSRAction3D(SkeletonDataset):
    """MSR Action3D, 20 actions, cross-subject split (odd subjects train, even test).

    Args:
        data_root: folder of ``*_skeleton3D.txt`` files.
        split: ``'train'``, ``'test'`` or ``'all'``.
        actions: keep only these 1-based action ids (relabelled 0..K-1 in that order).
        skip_empty: leave all-zero files out with a warning naming them (else raise).
    """

    METAINFO = dict(classes=ACTIONS, layout="kinect20")

    def __init__(self, data_root: str, split: str = "train", actions=None,
                 skip_empty: bool = True, **kwargs):
        self.actions = list(actions) if actions is not None else None
        self.skip_empty = skip_empty
        self.skipped: list[str] = []
        if self.actions is not None:
            kwargs["metainfo"] = dict(classes=tuple(ACTIONS[a - 1] for a in self.actions))
        super().__init__(split=split, data_root=data_root, **kwargs)

    def selection(self) -> str:
        actions = "" if self.actions is None else f", actions={self.actions}"
        return f"split={self.split!r} (odd subjects train, even test){actions}"

    def load_samples(self) -> list[dict]:
        root = Path(self.data_root)
        files = sorted(root.glob("a*_s*_e*_skeleton3D.txt"))
        if not files:
            raise FileNotFoundError(f"data_root {describe_path(root)}: no MSR Action3D files "
                                    "(aAA_sSS_eEE_skeleton3D.txt)")
        if self.split not in ("train", "test", "all"):
            raise ValueError(f"MSRAction3D split must be train/test/all, got {self.split!r}")
        label_of = {a: i for i, a in enumerate(self.actions or range(1, 21))}
        samples = []
        for path in files:
            action, subject, execution = parse_msr_name(path)
            if action not in label_of:
                continue
            if self.split != "all" and (subject % 2 == 1) != (self.split == "train"):
                continue
            try:
                joints, conf = read_msr_skeleton(path)
            except EmptySkeletonError as exc:
                if not self.skip_empty:
                    raise
                self.skipped.append(path.name)
                print_log(f"MSRAction3D: skipping {exc}", logger="current",
                          level=logging.WARNING)
                continue
            samples.append(dict(
                frame_dir=path.stem, label=label_of[action], subject=subject,
                execution=execution, keypoint=joints[None], keypoint_score=conf[None],
                total_frames=len(joints),
            ))
        return samples
