"""Bags of tile features (one ``.pt`` per slide) with slide labels from a CSV.

Folder / CSV convention::

    features/<slide_id>.pt        # from tools/wsi/extract_features.py (features, coords, ...)
    labels.csv                    # header: slide_id,label[,split][,task]; label = name or index
    annotations/<slide_id>.npz    # optional: ``mask`` (bool tumour mask) + ``downsample``

``split`` (e.g. ``train``/``val``/``test``) selects rows when the data set is given ``split``;
``task`` likewise (one CSV can hold the slide sets of several continual tasks).
Tile labels (for localisation metrics) come from the annotation mask: a tile is positive when
at least ``tile_label_threshold`` of its footprint is annotated. A slide of the negative class
(index 0) without an annotation file gets all-negative tile labels; other slides without one
get none (``tile_labels`` absent).
"""
from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import torch
from mmengine.dataset import BaseDataset

from zoo.registry import DATASETS
from zoo.structures import ClsDataSample

from .features import load_bag
from .slide import mask_fractions


def read_label_csv(path: str | Path, classes: tuple[str, ...] | None = None,
                   split: str | None = None, task: str | None = None
                   ) -> tuple[list[tuple[str, int]], tuple[str, ...]]:
    """Rows ``(slide_id, class_index)`` of ``path`` and the class names used.

    ``split`` / ``task`` keep the rows whose ``split`` / ``task`` column has that value."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"label CSV {path} does not exist")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"slide_id", "label"} <= set(rows[0]):
        raise KeyError(f"{path}: needs a header with columns slide_id,label[,split]")
    if split is not None:
        if "split" not in rows[0]:
            raise KeyError(f"{path}: split={split!r} requested but the CSV has no 'split' column")
        rows = [r for r in rows if r["split"].strip() == split]
    if task is not None:
        if "task" not in (rows[0] if rows else {"task": ""}):
            raise KeyError(f"{path}: task={task!r} requested but the CSV has no 'task' column")
        tasks = sorted({r["task"].strip() for r in rows})
        rows = [r for r in rows if r["task"].strip() == str(task)]
        if not rows:
            raise ValueError(f"{path}: no row with task={task!r} (split={split!r}); tasks "
                             f"present: {tasks}")
    labels = [r["label"].strip() for r in rows]
    if classes is None:
        if all(v.lstrip("-").isdigit() for v in labels):
            n = max((int(v) for v in labels), default=0) + 1
            classes = tuple(str(i) for i in range(max(n, 2)))
        else:
            classes = tuple(sorted(set(labels)))
    out = []
    for r, v in zip(rows, labels):
        if v in classes:
            idx = classes.index(v)
        elif v.isdigit() and int(v) < len(classes):
            idx = int(v)
        else:
            raise ValueError(f"{path}: slide {r['slide_id']}: label {v!r} is not one of {classes}")
        out.append((r["slide_id"].strip(), idx))
    return out, tuple(classes)


def tile_labels_from_annotation(path: str | Path, coords: np.ndarray, tile_size0: int,
                                threshold: float = 0.5) -> np.ndarray:
    """0/1 label per tile: annotated fraction of its footprint >= ``threshold``."""
    with np.load(path, allow_pickle=False) as data:
        if "mask" not in data or "downsample" not in data:
            raise KeyError(f"{path}: annotation needs 'mask' and 'downsample'")
        mask, ds = data["mask"].astype(bool), float(data["downsample"])
    return (mask_fractions(mask, ds, coords, tile_size0) >= threshold).astype(np.int64)


class PackBag:
    """Pipeline step of :class:`WSIBagDataset`: a bag's info dict -> ``{'inputs': [N, D],
    'data_samples': ClsDataSample}``; bags larger than ``max_instances`` are randomly
    subsampled (``None``: never). Being the data set's pipeline, it also runs for wrappers that
    rewrite the label first (the continual loop's ``ClassIncrementalSubset``)."""

    def __init__(self, max_instances: int | None = None):
        self.max_instances = max_instances

    def __call__(self, item: dict) -> dict:
        feats, coords = item["features"], item["coords"]
        tile_labels = item.get("tile_labels")
        if self.max_instances and len(feats) > self.max_instances:
            keep = torch.randperm(len(feats))[: self.max_instances].sort().values
            feats, coords = feats[keep], coords[keep]
            tile_labels = tile_labels[keep] if tile_labels is not None else None
        meta = dict(slide_id=item["slide_id"], coords=coords, tile_size0=item["tile_size0"],
                    slide=item["slide"])
        if "task" in item:
            meta["task"] = item["task"]
        sample = ClsDataSample(metainfo=meta)
        sample.set_gt_label(item["label"])
        if tile_labels is not None:
            sample.set_metainfo(dict(tile_labels=tile_labels))
        return dict(inputs=feats, data_samples=sample)


@DATASETS.register_module()
class WSIBagDataset(BaseDataset):
    """Slide-level MIL data set: each item is one slide's ``[N, D]`` feature bag.

    Args:
        feature_dir: folder of ``<slide_id>.pt`` feature files.
        label_csv: CSV with ``slide_id,label[,split]``.
        split: keep rows with this ``split`` value (``None``: all rows).
        classes: class names in index order (default: from the CSV).
        annotation_dir: folder of ``<slide_id>.npz`` tumour masks for tile labels.
        missing: ``'skip'`` (warn) or ``'error'`` for CSV rows without a feature file.
        max_instances: randomly subsample bags larger than this (training only).
        task: keep rows with this ``task`` value (continual tasks in one CSV).
    Items: ``inputs`` float ``[N, D]``, ``data_samples``: :class:`ClsDataSample` with
    ``gt_label`` and metainfo ``slide_id``, ``coords``, ``tile_size0`` and, when known,
    ``tile_labels`` (long ``[N]``).
    """

    def __init__(self, feature_dir: str, label_csv: str, split: str | None = None,
                 classes: tuple[str, ...] | None = None, annotation_dir: str | None = None,
                 missing: str = "skip", max_instances: int | None = None,
                 tile_label_threshold: float = 0.5, test_mode: bool = False,
                 task: str | None = None, **kwargs):
        if missing not in ("skip", "error"):
            raise ValueError(f"missing must be 'skip' or 'error', got {missing!r}")
        self.feature_dir, self.label_csv, self.split = Path(feature_dir), label_csv, split
        self.annotation_dir = Path(annotation_dir) if annotation_dir else None
        self.missing, self.max_instances = missing, max_instances
        self.tile_label_threshold = tile_label_threshold
        self._classes, self.task = classes, task
        kwargs.setdefault("serialize_data", False)
        kwargs.setdefault("lazy_init", False)
        pack = PackBag(None if test_mode else max_instances)
        super().__init__(test_mode=test_mode, pipeline=[pack], **kwargs)

    def load_data_list(self) -> list[dict]:
        rows, classes = read_label_csv(self.label_csv, self._classes, self.split, self.task)
        self._metainfo["classes"] = classes
        items = []
        for slide_id, label in rows:
            path = self.feature_dir / f"{slide_id}.pt"
            if not path.is_file():
                msg = f"{self.label_csv}: slide {slide_id} has no feature file {path}"
                if self.missing == "error":
                    raise FileNotFoundError(msg)
                warnings.warn(msg + " (skipped)", stacklevel=2)
                continue
            bag = load_bag(path)
            item = dict(slide_id=slide_id, label=label, features=bag["features"].float(),
                        coords=bag["coords"].long(), tile_size0=int(bag.get("tile_size0", 0)),
                        slide=str(bag.get("slide", "")))
            ann = self.annotation_dir / f"{slide_id}.npz" if self.annotation_dir else None
            if ann is not None and ann.is_file():
                item["tile_labels"] = torch.from_numpy(tile_labels_from_annotation(
                    ann, item["coords"].numpy(), item["tile_size0"], self.tile_label_threshold))
            elif label == 0 and self.annotation_dir is not None:
                item["tile_labels"] = torch.zeros(len(item["coords"]), dtype=torch.long)
            items.append(item)
        if not items:
            raise ValueError(f"{self.label_csv}: no slide with a feature file in "
                             f"{self.feature_dir} (split={self.split!r})")
        return items
