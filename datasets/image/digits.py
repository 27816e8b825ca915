"""scikit-learn's handwritten digits (real 8x8 scans, 1,797 images, 10 classes)."""
from __future__ import annotations

import copy

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.dataset.base_dataset import force_full_init

from zoo.registry import DATASETS


@DATASETS.register_module()
class Digits(BaseDataset):
    """The UCI optical digits that ship with scikit-learn, split by a seeded stratified draw.

    Args:
        split: ``'train'`` (``1 - test_fraction`` of each class) or ``'test'``.
        test_fraction: share of each class held out for testing.
        seed: seed of the split.
        num_folds: the training samples of each class are dealt into this many folds
            (seeded, stratified; the test split does not change).
    Samples: ``img`` float32 [8, 8] in [0, 1], ``label``, ``sample_idx`` (index in the
    original data set, stable across splits), ``fold`` (training samples: ``0 ..
    num_folds - 1``; test samples: ``-1``). ``SampleFilter(key='fold', ...)`` holds a fold out
    as a validation split.
    """

    METAINFO = dict(classes=tuple(str(i) for i in range(10)))

    def __init__(self, split: str = "train", test_fraction: float = 0.25, seed: int = 0,
                 num_folds: int = 5, pipeline: list | None = None, **kwargs):
        if split not in ("train", "test", "val"):
            raise ValueError(f"Digits split must be train/val/test, got {split!r}")
        if num_folds < 1:
            raise ValueError(f"Digits num_folds must be >= 1, got {num_folds}")
        self.split, self.test_fraction, self.seed = split, test_fraction, seed
        self.num_folds = int(num_folds)
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
        fold = np.full(len(digits.target), -1)
        fold_rng = np.random.default_rng(self.seed + 1)  # a second stream: the split stays
        for c in np.unique(digits.target):
            idx = fold_rng.permutation(np.flatnonzero((digits.target == c) & ~test))
            fold[idx] = np.arange(len(idx)) % self.num_folds
        keep = np.flatnonzero(test if self.split in ("test", "val") else ~test)
        return [dict(img=(digits.images[i] / 16.0).astype(np.float32),
                     label=int(digits.target[i]), sample_idx=int(i), fold=int(fold[i]))
                for i in keep]

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """The record at ``idx`` as mmengine returns it (a copy, ``sample_idx`` = ``idx``),
        copied field by field — arrays by ``copy``, immutable scalars shared — instead of by
        ``copy.deepcopy``, a per-sample cost in a profile of a split-digits continual run."""
        info = {key: value.copy() if isinstance(value, np.ndarray)
                else value if isinstance(value, (int, float, str, type(None)))
                else copy.deepcopy(value) for key, value in self.data_list[idx].items()}
        info["sample_idx"] = idx if idx >= 0 else len(self) + idx
        return info
