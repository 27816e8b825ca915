"""scikit-learn's handwritten digits (real 8x8 scans, 1,797 images, 10 classes)."""
from __future__ import annotations

import numpy as np
from mmengine.dataset import BaseDataset

from zoo.registry import DATASETS


@DATASETS.register_module()
class Digits(BaseDataset):
    """The UCI optical digits that ship with scikit-learn, split by a seeded stratified draw.

    Args:
        split: ``'train'`` (``1 - test_fraction`` of each class) or ``'test'``.
        test_fraction: share of each class held out for testing.
        seed: seed of the split.
    Samples: ``img`` float32 [8, 8] in [0, 1], ``label``, ``sample_idx`` (index in the
    original data set, stable across splits).
    """

    METAINFO = dict(classes=tuple(str(i) for i in range(10)))

    def __init__(self, split: str = "train", test_fraction: float = 0.25, seed: int = 0,
                 pipeline: list | None = None, **kwargs):
        if split not in ("train", "test", "val"):
            raise ValueError(f"Digits split must be train/val/test, got {split!r}")
        self.split, self.test_fraction, self.seed = split, test_fraction, seed
        kwargs.setdefault("serialize_data", False)
        super().__init__(pipeline=pipeline or [dict(type="PackClsInputs")], **kwargs)

    def load_data_list(self) -> list[dict]:
        from sklearn.datasets import load_digits

        digits = load_digits()
        rng = np.random.default_rng(self.seed)
        test = np.zeros(len(digits.target), dtype=bool)
        for c in np.unique(digits.target):
            idx = np.flatnonzero(digits.target == c)
            test[rng.choice(idx, int(round(self.test_fraction * len(idx))), replace=False)] = True
        keep = np.flatnonzero(test if self.split in ("test", "val") else ~test)
        return [dict(img=(digits.images[i] / 16.0).astype(np.float32),
                     label=int(digits.target[i]), sample_idx=int(i)) for i in keep]
