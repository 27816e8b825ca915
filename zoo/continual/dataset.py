"""Data set wrappers of the continual loop: a class subset with remapped labels, and memory
samples kept as tensors (replay buffers)."""
from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import partial
from typing import NamedTuple

import numpy as np
import torch
from mmengine.dataset import pseudo_collate, worker_init_fn
from mmengine.dist import get_rank
from mmengine.registry import DATA_SAMPLERS, FUNCTIONS
from torch.utils.data import DataLoader, Dataset

from zoo.registry import DATASETS
from zoo.structures import ClsDataSample

from .scenario import dataset_labels


@DATASETS.register_module()
class ClassIncrementalSubset(Dataset):
    """The samples of ``dataset`` whose label is in ``classes``, labels optionally remapped.

    Works with any mmengine ``BaseDataset`` whose ``get_data_info(i)`` carries ``'label'``
    (skeletons, images, bags of features): the remapped label is written into the sample
    dict before the inner data set's pipeline runs, so the packed ``gt_label`` is the
    incremental one.

    Args:
        dataset: the inner data set, or its config.
        classes: original labels to keep.
        class_order: when given, label ``c`` becomes ``class_order.index(c)`` (the
            incremental label of a scenario); when ``None`` labels are kept.
        inner_labels: the labels of all samples of ``dataset`` if already known (saves a
            pass over ``get_data_info``).
    """

    def __init__(self, dataset, classes: Sequence[int],
                 class_order: Sequence[int] | None = None,
                 inner_labels: Sequence[int] | None = None):
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        if not hasattr(self.dataset, "get_data_info"):
            raise TypeError(f"ClassIncrementalSubset: {type(self.dataset).__name__} has no "
                            "get_data_info(i); wrap an mmengine BaseDataset")
        self.classes = [int(c) for c in classes]
        self.class_order = None if class_order is None else [int(c) for c in class_order]
        if self.class_order is not None:
            missing = sorted(set(self.classes) - set(self.class_order))
            if missing:
                raise ValueError(f"ClassIncrementalSubset: classes {missing} are not in "
                                 f"class_order {self.class_order}")
            self.label_map = {c: i for i, c in enumerate(self.class_order)}
        else:
            self.label_map = {c: c for c in self.classes}
        if inner_labels is None:
            inner_labels = dataset_labels(self.dataset)
        inner_labels = np.asarray(inner_labels, dtype=np.int64)
        if len(inner_labels) != len(self.dataset):
            raise ValueError(f"ClassIncrementalSubset: {len(inner_labels)} inner_labels for a "
                             f"data set of {len(self.dataset)} samples")
        keep = np.isin(inner_labels, self.classes)
        self.indices = np.flatnonzero(keep)
        self.labels = np.array([self.label_map[int(c)] for c in inner_labels[keep]],
                               dtype=np.int64)
        absent = sorted(set(self.classes) - set(inner_labels.tolist()))
        if absent:
            raise ValueError(f"ClassIncrementalSubset: {type(self.dataset).__name__} has no "
                             f"sample of classes {absent}")

    @property
    def metainfo(self) -> dict:
        meta = dict(getattr(self.dataset, "metainfo", {}) or {})
        names = meta.get("classes")
        if self.class_order is not None and names:
            meta["classes"] = tuple(names[c] if c < len(names) else str(c)
                                    for c in self.class_order)
        meta["continual_classes"] = tuple(self.classes)
        return meta

    def __len__(self) -> int:
        return len(self.indices)

    def get_data_info(self, idx: int) -> dict:
        info = self.dataset.get_data_info(int(self.indices[idx]))
        info["original_label"] = int(info["label"])
        info["label"] = self.label_map[int(info["label"])]
        return info

    def __getitem__(self, idx: int):
        info = self.get_data_info(idx)
        pipeline = getattr(self.dataset, "pipeline", None)
        out = pipeline(info) if pipeline is not None else info
        if out is None:
            raise RuntimeError(f"ClassIncrementalSubset: the pipeline of "
                               f"{type(self.dataset).__name__} dropped sample "
                               f"{int(self.indices[idx])}")
        return out

    def full_init(self) -> None:
        """Present for mmengine's dataset protocol; the wrapper is built eagerly."""


@DATASETS.register_module()
class SampleFilter(Dataset):
    """The samples of an mmengine ``BaseDataset`` whose info ``key`` is one of ``values``,
    e.g. ``key='subject'`` to hold some training subjects out as a validation split
    (hyper-parameters of a continual method chosen without touching the test split).

    Args:
        dataset: the inner data set, or its config.
        key: a field of every sample's ``get_data_info(i)``.
        values: the values to keep.
        pipeline: the inner data set's pipeline, if given here (a config that wraps a data set
            then still sets ``dataset.pipeline`` the same way as for an unwrapped one).
    """

    def __init__(self, dataset, key: str, values: Sequence, pipeline: Sequence | None = None):
        if pipeline is not None:
            if not isinstance(dataset, dict):
                raise TypeError("SampleFilter: pipeline= needs the inner data set as a config "
                                "dict (a built data set already has its pipeline)")
            dataset = dict(dataset, pipeline=pipeline)
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        if not hasattr(self.dataset, "get_data_info"):
            raise TypeError(f"SampleFilter: {type(self.dataset).__name__} has no "
                            "get_data_info(i); wrap an mmengine BaseDataset")
        if hasattr(self.dataset, "full_init"):
            self.dataset.full_init()
        self.key, self.values = key, list(values)
        keep, seen = [], set()
        for i in range(len(self.dataset)):
            info = self.dataset.get_data_info(i)
            if key not in info:
                raise KeyError(f"SampleFilter: sample {i} of {type(self.dataset).__name__} has "
                               f"no {key!r} (keys: {sorted(info)})")
            seen.add(info[key])
            if info[key] in self.values:
                keep.append(i)
        if not keep:
            raise ValueError(f"SampleFilter: no sample of {type(self.dataset).__name__} has "
                             f"{key} in {self.values} (values present: {sorted(seen)})")
        self.indices = np.asarray(keep, dtype=np.int64)

    @property
    def metainfo(self) -> dict:
        return dict(getattr(self.dataset, "metainfo", {}) or {})

    @property
    def pipeline(self):
        return getattr(self.dataset, "pipeline", None)

    def __len__(self) -> int:
        return len(self.indices)

    def get_data_info(self, idx: int) -> dict:
        return self.dataset.get_data_info(int(self.indices[idx]))

    def __getitem__(self, idx: int):
        return self.dataset[int(self.indices[idx])]

    def full_init(self) -> None:
        """Present for mmengine's dataset protocol; the wrapper is built eagerly."""


class MemoryDataset(Dataset):
    """Packed samples held as tensors (a replay memory), in the form pipelines produce:
    ``{'inputs': tensor, 'data_samples': ClsDataSample(gt_label)}``."""

    def __init__(self, inputs: torch.Tensor, labels: torch.Tensor):
        if len(inputs) != len(labels):
            raise ValueError(f"MemoryDataset: {len(inputs)} inputs but {len(labels)} labels")
        self.inputs, self.labels = inputs, labels.long()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, idx: int) -> dict:
        sample = ClsDataSample(metainfo=dict(memory_index=int(idx)))
        sample.set_gt_label(int(self.labels[idx]))
        return {"inputs": self.inputs[idx], "data_samples": sample}


class PackedBatch(NamedTuple):
    """A training or evaluation batch already through the pipeline and the model's data
    preprocessor: ``inputs [B, ...]`` and incremental ``labels [B]``."""

    inputs: torch.Tensor
    labels: torch.Tensor


class PackedDataset(Dataset):
    """A data set held as the model's preprocessed inputs and labels (two tensors), so that a
    batch is one indexing (``__getitems__``): no per-sample pipeline, collate or data
    samples. Built by ``ContinualTrainLoop(cache_inputs=True)`` from data whose pipeline and
    preprocessor are deterministic; ``source`` names the data it was made from."""

    def __init__(self, inputs: torch.Tensor, labels: torch.Tensor, source: str = "packed"):
        if len(inputs) != len(labels):
            raise ValueError(f"PackedDataset ({source}): {len(inputs)} inputs but "
                             f"{len(labels)} labels")
        self.inputs, self.labels, self.source = inputs, labels.long(), source

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, idx: int) -> PackedBatch:
        """One sample (no batch dimension); loaders read whole batches by ``__getitems__``."""
        return PackedBatch(self.inputs[idx], self.labels[idx])

    def __getitems__(self, indices: Sequence[int]) -> PackedBatch:
        index = torch.as_tensor(indices, dtype=torch.long)
        return PackedBatch(self.inputs[index], self.labels[index])


def packed_collate(batch: PackedBatch) -> PackedBatch:
    """The collate function of a :class:`PackedDataset` loader: its batches come whole."""
    return batch


@DATASETS.register_module()
class TaskSequenceDataset(Dataset):
    """One data set per continual task, presented as one labelled data set.

    The data-set-incremental scenario of whole-slide continual MIL (CoMEL, arXiv 2507.02395,
    and its code: one slide cohort per task, e.g. one organ's tumour-vs-normal slides; the
    labels of task ``t`` are offset by the classes of the earlier tasks, so the classifier
    grows by the new task's classes and predicts over all classes seen). Sample ``i`` of
    task ``t`` with label ``c`` gets label ``offset_t + c``, plus ``task`` (``t``) and
    ``task_label`` (``c``) in its info dict; the task's own pipeline then runs. With
    ``train_cfg.scenario=dict(task_datasets=True)`` the continual loop makes one task of each
    data set (``ClassIncrementalScenario.for_task_datasets``).

    Args:
        datasets: the data sets (or configs) of tasks 0, 1, ... (mmengine ``BaseDataset``s
            whose ``get_data_info(i)`` carries an integer ``'label'``).
        task_names: names for messages and class names (default ``T1``, ``T2``, ...).
        num_classes: classes of each task (default: ``len(metainfo['classes'])``, else the
            largest label + 1).
    """

    def __init__(self, datasets: Sequence, task_names: Sequence[str] | None = None,
                 num_classes: Sequence[int] | None = None):
        if not datasets:
            raise ValueError("TaskSequenceDataset needs at least one data set")
        self.datasets = [DATASETS.build(d) if isinstance(d, dict) else d for d in datasets]
        n = len(self.datasets)
        self.task_names = [str(t) for t in task_names] if task_names is not None \
            else [f"T{t + 1}" for t in range(n)]
        if len(self.task_names) != n:
            raise ValueError(f"TaskSequenceDataset: {len(self.task_names)} task_names for {n} "
                             "data sets")
        self.inner_labels = [dataset_labels(d) for d in self.datasets]
        sizes = []
        for t, (d, labels) in enumerate(zip(self.datasets, self.inner_labels)):
            names = (getattr(d, "metainfo", None) or {}).get("classes")
            k = int(num_classes[t]) if num_classes is not None else \
                (len(names) if names else int(labels.max()) + 1 if len(labels) else 0)
            if len(labels) == 0:
                raise ValueError(f"TaskSequenceDataset: task {self.task_names[t]} "
                                 f"({type(d).__name__}) has no samples")
            if labels.min() < 0 or labels.max() >= k:
                raise ValueError(f"TaskSequenceDataset: task {self.task_names[t]} has labels "
                                 f"{sorted(set(labels.tolist()))} outside 0..{k - 1}")
            sizes.append(k)
        self.task_num_classes = sizes
        self.offsets = np.cumsum([0] + sizes)[:-1].tolist()
        self.cumulative = np.cumsum([len(d) for d in self.datasets]).tolist()

    @property
    def metainfo(self) -> dict:
        classes = []
        for t, d in enumerate(self.datasets):
            names = (getattr(d, "metainfo", None) or {}).get("classes")
            for c in range(self.task_num_classes[t]):
                name = names[c] if names and c < len(names) else str(c)
                classes.append(f"{self.task_names[t]}/{name}")
        return dict(classes=tuple(classes), task_names=tuple(self.task_names),
                    task_num_classes=tuple(self.task_num_classes))

    def __len__(self) -> int:
        return self.cumulative[-1]

    def locate(self, idx: int) -> tuple[int, int]:
        """(task, index inside the task's data set) of sample ``idx``."""
        if not 0 <= idx < len(self):
            raise IndexError(f"TaskSequenceDataset: index {idx} out of range ({len(self)})")
        task = int(np.searchsorted(self.cumulative, idx, side="right"))
        return task, idx - (self.cumulative[task - 1] if task else 0)

    def get_data_info(self, idx: int) -> dict:
        task, local = self.locate(int(idx))
        info = self.datasets[task].get_data_info(local)
        info["task"], info["task_label"] = task, int(info["label"])
        info["label"] = self.offsets[task] + int(info["label"])
        return info

    def pipeline(self, info: dict):
        """The pipeline of the sample's own task (used by ``ClassIncrementalSubset``)."""
        inner = getattr(self.datasets[info["task"]], "pipeline", None)
        return inner(info) if inner is not None else info

    def __getitem__(self, idx: int):
        out = self.pipeline(self.get_data_info(idx))
        if out is None:
            raise RuntimeError(f"TaskSequenceDataset: the pipeline of task "
                               f"{self.task_names[self.locate(idx)[0]]} dropped sample {idx}")
        return out

    def full_init(self) -> None:
        """Present for mmengine's dataset protocol; the inner data sets are built eagerly."""


def collate_of(loader_cfg: dict):
    """The collate function a data loader config names (mmengine's ``pseudo_collate`` by
    default)."""
    collate_cfg = loader_cfg.get("collate_fn", dict(type="pseudo_collate"))
    collate = FUNCTIONS.get(collate_cfg["type"]) if isinstance(collate_cfg, dict) \
        else collate_cfg
    return collate or pseudo_collate


def loader_like(loader_cfg: dict, dataset, train: bool, seed: int, batch_size: int
                ) -> DataLoader:
    """A ``DataLoader`` over ``dataset`` with the sampler, workers, collate function and
    ``pin_memory`` of a ``train_dataloader`` config (without its ``dataset``) and the given
    ``batch_size``. ``train=False`` gives an ordered, unshuffled loader. A
    :class:`PackedDataset` is read in the main process and its batches are not collated."""
    cfg = copy.deepcopy(dict(loader_cfg))
    cfg.pop("batch_size", None)
    if isinstance(dataset, PackedDataset):  # in memory already: no workers, batches whole
        cfg.update(num_workers=0, collate_fn=packed_collate)
    num_workers = int(cfg.pop("num_workers", 0))
    sampler_cfg = cfg.pop("sampler", dict(type="DefaultSampler", shuffle=True))
    if not train:
        sampler_cfg = dict(type="DefaultSampler", shuffle=False)
    sampler = DATA_SAMPLERS.build(sampler_cfg, default_args=dict(dataset=dataset, seed=seed))
    collate = collate_of(cfg)
    init_fn = partial(worker_init_fn, num_workers=num_workers, rank=get_rank(), seed=seed) \
        if num_workers > 0 else None
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler,
                      num_workers=num_workers, collate_fn=collate,
                      worker_init_fn=init_fn, drop_last=False,
                      pin_memory=bool(cfg.get("pin_memory", False)))


def evaluation_data(eval_cfg: dict | None, runner, default_batch_size: int) -> tuple:
    """``(data set, batch size)`` of the continual evaluation: ``eval_cfg``'s (a data loader
    config of which ``dataset`` and ``batch_size`` are used), else the runner's
    ``val_dataloader``'s."""
    if eval_cfg is not None:
        cfg = dict(eval_cfg)
        dataset = cfg.pop("dataset")
        dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        return dataset, int(cfg.get("batch_size", default_batch_size))
    val_loader = runner.val_loop.dataloader
    return val_loader.dataset, int(val_loader.batch_size or default_batch_size)
