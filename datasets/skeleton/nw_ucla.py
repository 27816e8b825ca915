"""Northwestern-UCLA Multiview Action 3D (Wang et al., CVPR 2014) in the json layout of
CTR-GCN's ``data/NW-UCLA/all_sqe``: reader and dataset.

One json per clip: ``{"file_name": "a01_s01_e00_v01", "skeletons": [T][20][3], ...}`` (x, y, z
of the 20 Kinect v1 joints, already in the zoo's ``kinect20`` order). Action ``aXX`` is one of
the ten NW-UCLA actions (ids 1-6, 8, 9, 11, 12, labelled 0..9 in that order), ``sXX`` the
subject, ``eXX`` the repetition and ``vXX`` the view (1-3). The standard cross-view protocol
trains on views 1 and 2 and tests on view 3.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from zoo.config_overrides import describe_path
from zoo.registry import DATASETS

from .base import SkeletonDataset, SkeletonFormatError

NAME_PATTERN = re.compile(r"^a(\d+)_s(\d+)_e(\d+)_v(\d+)$")
ACTION_IDS = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)
ACTIONS = ("pick up with one hand", "pick up with two hands", "drop trash", "walk around",
           "sit down", "stand up", "donning", "doffing", "throw", "carry")
TRAIN_VIEWS = (1, 2)
TEST_VIEWS = (3,)


def parse_ucla_name(name: str, source=None) -> dict:
    """``action, subject, execution, view`` from ``aXX_sXX_eXX_vXX``; ``label`` 0..9."""
    match = NAME_PATTERN.match(name)
    if match is None:
        raise SkeletonFormatError(source or name,
                                  f"file_name {name!r} does not match aXX_sXX_eXX_vXX")
    action, subject, execution, view = (int(g) for g in match.groups())
    if action not in ACTION_IDS:
        raise SkeletonFormatError(source or name, f"action a{action:02d} is not one of the ten "
                                                  f"NW-UCLA actions {ACTION_IDS}")
    return dict(action=action, subject=subject, execution=execution, view=view,
                label=ACTION_IDS.index(action))


def read_ucla_json(path: str | Path) -> dict:
    """Read one clip: a sample dict with ``keypoint`` ``[1, T, 20, 3]`` and the name fields."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise SkeletonFormatError(path, f"is not UTF-8 text ({exc.reason}: byte "
                                        f"0x{exc.object[exc.start]:02x} at offset {exc.start})"
                                  ) from None
    except json.JSONDecodeError as exc:
        raise SkeletonFormatError(path, f"is not valid json ({exc})") from None
    if not isinstance(data, dict) or "skeletons" not in data:
        raise SkeletonFormatError(path, "has no 'skeletons' key")
    name = data.get("file_name", path.stem)
    info = parse_ucla_name(str(name), path)
    try:
        joints = np.asarray(data["skeletons"], dtype=np.float32)
    except (TypeError, ValueError):
        raise SkeletonFormatError(path, "'skeletons' is not a rectangular [T][20][3] array of "
                                        "numbers") from None
    if joints.ndim != 3 or joints.shape[1:] != (20, 3) or len(joints) == 0:
        raise SkeletonFormatError(path, f"'skeletons' must be [T][20][3], got shape "
                                        f"{joints.shape}")
    if not np.isfinite(joints).all():
        raise SkeletonFormatError(path, "'skeletons' holds NaN/inf values")
    return dict(frame_dir=str(name), keypoint=joints[None], total_frames=len(joints), **info)


@DATASETS.register_module()
class NWUCLA(SkeletonDataset):
    """NW-UCLA clips from a folder of json files; ``split='train'`` takes views 1 and 2,
    ``'test'``/``'val'`` view 3, ``'all'`` everything (``train_views`` overrides)."""

    METAINFO = dict(classes=ACTIONS, layout="kinect20")

    def __init__(self, data_root: str, split: str = "train", train_views=TRAIN_VIEWS,
                 **kwargs):
        self.train_views = tuple(train_views)
        super().__init__(split=split, data_root=data_root, **kwargs)

    def selection(self) -> str:
        return f"split={self.split!r}, train_views={self.train_views}"

    def load_samples(self) -> list[dict]:
        if self.split not in ("train", "test", "val", "all"):
            raise ValueError(f"NWUCLA split must be train/test/val/all, got {self.split!r}")
        files = sorted(Path(self.data_root).glob("*.json"))
        if not files:
            raise FileNotFoundError(f"data_root {describe_path(self.data_root)}: no NW-UCLA "
                                    "json files")
        samples = []
        for path in files:
            sample = read_ucla_json(path)
            train = sample["view"] in self.train_views
            if self.split == "all" or train == (self.split == "train"):
                samples.append(sample)
        return samples
