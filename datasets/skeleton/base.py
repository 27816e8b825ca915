"""Base class of skeleton datasets: format readers produce sample dicts, this validates them."""
from __future__ import annotations

from typing import Any

import numpy as np
from mmengine.dataset import BaseDataset


class SkeletonFormatError(ValueError):
    """A skeleton file or sample is malformed; the message names the file and the problem."""

    def __init__(self, source: Any, problem: str):
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


def validate_sample(sample: dict, num_joints: int | None = None) -> dict:
    """Check the common sample dict (shapes, finiteness); raise :class:`SkeletonFormatError`."""
    source = sample.get("frame_dir", "<sample>")
    kp = sample.get("keypoint")
    if kp is None:
        raise SkeletonFormatError(source, "no 'keypoint' array")
    if kp.ndim != 4:
        raise SkeletonFormatError(source, f"keypoint must be [M, T, V, C], got {kp.shape}")
    if num_joints is not None and kp.shape[2] != num_joints:
        raise SkeletonFormatError(
            source, f"has {kp.shape[2]} joints per body, expected {num_joints}")
    if not np.isfinite(kp).all():
        bad = np.argwhere(~np.isfinite(kp))[0]
        raise SkeletonFormatError(
            source, f"keypoint holds NaN/inf values (first at body {bad[0]}, frame {bad[1]}, "
                    f"joint {bad[2]})")
    if kp.shape[1] == 0:
        raise SkeletonFormatError(source, "has no frames")
    sample.setdefault("total_frames", kp.shape[1])
    return sample


class EmptySplitError(ValueError):
    """A data set's split (after its filters) holds no sample."""


class SkeletonDataset(BaseDataset):
    """A list of validated skeleton samples run through a pipeline.

    Subclasses implement :meth:`load_samples` and set ``METAINFO`` (``classes`` and
    ``layout``). ``split`` selects a subset (``'train'``/``'test'``/...).

    ``label_fraction`` (0 < f <= 1) keeps a seeded, class-balanced share of the split: from
    each class ``max(1, round(f * n_c))`` samples drawn with ``label_seed`` (the
    semi-supervised protocol of the skeleton self-supervision papers, e.g. 1 % / 10 % of
    NTU-60's labels; the official HiCLR ``Feeder_semi`` draws ``round(f * n_c)`` per class).
    """

    METAINFO: dict = dict(classes=(), layout="ntu25")

    def __init__(self, split: str = "train", pipeline: list | None = None,
                 label_fraction: float | None = None, label_seed: int = 0, **kwargs):
        if label_fraction is not None and not 0 < label_fraction <= 1:
            raise ValueError(f"{type(self).__name__}: label_fraction must be in (0, 1], "
                             f"got {label_fraction}")
        self.split = split
        self.label_fraction = label_fraction
        self.label_seed = label_seed
        kwargs.setdefault("serialize_data", False)
        super().__init__(pipeline=pipeline or [], **kwargs)

    def load_samples(self) -> list[dict]:
        """Read the samples of ``self.split``; every format implements its own reader."""
        raise TypeError(f"{type(self).__name__} must implement load_samples()")

    @property
    def num_joints(self) -> int | None:
        from zoo.layouts import get_layout

        return get_layout(self.metainfo["layout"]).num_joints

    def selection(self) -> str:
        """The split and filters that chose the samples, for error messages."""
        return f"split={self.split!r}"

    def load_data_list(self) -> list[dict]:
        samples = self.load_samples()
        if not samples:
            # Without this, training ends in mmengine's "epoch_length must be a positive
            # integer", which names neither the data set nor the filter.
            from zoo.config_overrides import describe_path

            root = getattr(self, "data_root", None)
            where = f" in data_root {describe_path(root)}" if root else ""
            raise EmptySplitError(f"{type(self).__name__}: {self.selection()} selects no "
                                  f"samples{where}; check the split and filters")
        samples = [validate_sample(s, self.num_joints) for s in samples]
        if self.label_fraction is not None:
            samples = label_subset(samples, self.label_fraction, self.label_seed)
        return samples


def label_subset(samples: list[dict], fraction: float, seed: int = 0) -> list[dict]:
    """A class-balanced share of ``samples``: ``max(1, round(fraction * n_c))`` of each
    class's ``n_c`` samples, drawn with a generator seeded by ``seed``; the original order
    is kept."""
    by_class: dict[int, list[int]] = {}
    for i, s in enumerate(samples):
        if "label" not in s:
            raise ValueError(f"{s.get('frame_dir', i)}: label_fraction needs labelled samples")
        by_class.setdefault(int(s["label"]), []).append(i)
    rng = np.random.default_rng(seed)
    keep: list[int] = []
    for label in sorted(by_class):
        idx = by_class[label]
        n = max(1, int(round(fraction * len(idx))))
        keep += rng.choice(idx, n, replace=False).tolist()
    return [samples[i] for i in sorted(keep)]
