"""The data an unlearner works on: forget / retain loaders and cached evaluation inputs.

:class:`UnlearnContext` is built once from a config. Training-time loaders use the config's
train pipeline (augmentation included); evaluation inputs (the training split through the
test pipeline, and the test split) are preprocessed once and kept in memory.
"""
from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader, Subset

from zoo.structures import gather_labels
from zoo.unlearning.requests import ForgetRequest, TrainIndex

Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass
class EvalSet:
    """Preprocessed inputs ``[N, ...]`` and labels ``[N]`` of one split."""

    inputs: torch.Tensor
    labels: torch.Tensor


def build_dataset(dataset_cfg):
    """Build a dataset from its config in the zoo scope."""
    from mmengine.registry import init_default_scope

    from zoo.registry import DATASETS

    init_default_scope("zoo")
    return DATASETS.build(copy.deepcopy(dataset_cfg))


def _label(info: dict, source: str, k: int) -> int:
    for key in ("label", "gt_label"):
        if key in info:
            return int(np.asarray(info[key]).reshape(-1)[0])
    raise KeyError(f"{source}: sample {k} has no 'label' key")


def train_index(dataset, source: str = "training split") -> TrainIndex:
    """Labels, ids (``frame_dir`` or position) and, for super-class data sets, sub-class
    labels (``fine_label``) of every sample of ``dataset``."""
    labels, ids, fine = [], [], []
    for k in range(len(dataset)):
        info = dataset.get_data_info(k)
        labels.append(_label(info, source, k))
        ids.append(str(info["frame_dir"]) if "frame_dir" in info else str(k))
        fine.append(info.get("fine_label"))
    meta = getattr(dataset, "metainfo", {}) or {}
    classes = tuple(meta.get("classes", ()))
    has_fine = len(fine) > 0 and all(f is not None for f in fine)
    return TrainIndex(np.array(labels), ids, classes, len(classes) or 0, source,
                      np.array(fine, dtype=np.int64) if has_fine else None,
                      tuple(meta.get("fine_classes", ())))


def _preprocess(model, batch: dict, training: bool) -> Batch:
    data = model.data_preprocessor(batch, training)
    return data["inputs"], gather_labels(data["data_samples"], data["inputs"].device)


@torch.no_grad()
def cache_split(model, dataset, batch_size: int = 64) -> EvalSet:
    """Run ``dataset`` (its own pipeline) once and keep the preprocessed batch in memory."""
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=pseudo_collate)
    xs, ys = [], []
    for batch in loader:
        x, y = _preprocess(model, batch, False)
        xs.append(x)
        ys.append(y)
    return EvalSet(torch.cat(xs), torch.cat(ys))


class UnlearnContext:
    """Forget / retain split of a training set, its loaders, and evaluation caches.

    Args:
        model: the model (its data preprocessor turns loader batches into tensors).
        train_set: training dataset with the train pipeline (used for updates).
        train_eval: training dataset with the test pipeline (forget / retain accuracy).
        test_set: test dataset.
        batch_size: batch size of the update loaders.
        cfg: the full config (Retrain trains from it).
        seed: seed of loader shuffling.
    """

    def __init__(self, model, train_set, train_eval, test_set, batch_size: int = 64, cfg=None,
                 seed: int = 0, eval_batch_size: int = 64):
        self.train_set, self.cfg, self.batch_size, self.seed = train_set, cfg, batch_size, seed
        self.index = train_index(train_set)
        eval_index = train_index(train_eval, "training split (test pipeline)")
        if eval_index.ids != self.index.ids:
            raise ValueError("the training split differs between the train and test pipelines")
        self.num_classes = int(model.num_classes)
        self.index.num_classes = self.num_classes
        self.train_eval = cache_split(model, train_eval, eval_batch_size)
        self.test_eval = cache_split(model, test_set, eval_batch_size)
        #: sub-class of each test sample (super-class data sets), else None
        self.test_fine_labels = train_index(test_set, "test split").fine_labels
        self._generator = torch.Generator().manual_seed(seed)
        self.forgotten = np.zeros(len(self.index.ids), bool)  # all requests so far
        self.forget_classes: set[int] = set()
        self.forget_subclasses: set[int] = set()
        self.forget_idx = np.zeros(0, np.int64)  # the current request's samples

    # ---- requests -------------------------------------------------------------------
    def reset(self) -> None:
        """Forget nothing (before a new unlearning run on the same data)."""
        self.forgotten[:] = False
        self.forget_classes = set()
        self.forget_subclasses = set()
        self.forget_idx = np.zeros(0, np.int64)
        self._generator.manual_seed(self.seed)

    def apply_request(self, request: ForgetRequest) -> np.ndarray:
        """Make ``request`` the current one (its samples join the forgotten set)."""
        idx, classes = self.index.resolve(request)
        self.forget_idx = idx
        self.forgotten[idx] = True
        self.forget_classes |= classes
        if request.subclasses:
            self.forget_subclasses |= self.index.resolve_subclasses(request)
        return idx

    def test_forget_mask(self) -> np.ndarray:
        """Test samples of what is forgotten: of forgotten classes, and of forgotten
        sub-classes (super-class data sets)."""
        labels = self.test_eval.labels.numpy()
        mask = np.isin(labels, sorted(self.forget_classes))
        if self.forget_subclasses:
            if self.test_fine_labels is None:
                raise ValueError("sub-classes are forgotten but the test split has no "
                                 "'fine_label'")
            mask |= np.isin(self.test_fine_labels, sorted(self.forget_subclasses))
        return mask

    @property
    def retain_idx(self) -> np.ndarray:
        return np.flatnonzero(~self.forgotten)

    @property
    def all_forget_idx(self) -> np.ndarray:
        return np.flatnonzero(self.forgotten)

    # ---- loaders ----------------------------------------------------------------------
    def _indices(self, which: str) -> np.ndarray:
        if which == "forget":
            return self.forget_idx
        if which == "retain":
            return self.retain_idx
        if which == "train":
            return np.arange(len(self.index.ids))
        raise ValueError(f"unknown split {which!r}; use 'forget', 'retain' or 'train'")

    def loader(self, which: str, model, shuffle: bool = True, batch_size: int | None = None,
               training: bool = True) -> Iterator[Batch]:
        """Batches ``(inputs, labels)`` of the forget / retain / whole training set."""
        idx = self._indices(which)
        if len(idx) == 0:
            raise ValueError(f"the {which} set is empty")
        loader = DataLoader(Subset(self.train_set, idx.tolist()),
                            batch_size=batch_size or self.batch_size, shuffle=shuffle,
                            collate_fn=pseudo_collate, generator=self._generator)
        for batch in loader:
            yield _preprocess(model, batch, training)

    def batch(self, idx: Sequence[int], model, training: bool = True) -> Batch:
        """One batch ``(inputs, labels)`` of the training samples ``idx``, in that order
        (train pipeline)."""
        idx = [int(i) for i in idx]
        if not idx:
            raise ValueError("batch(): no sample index given")
        loader = DataLoader(Subset(self.train_set, idx), batch_size=len(idx), shuffle=False,
                            collate_fn=pseudo_collate)
        return _preprocess(model, next(iter(loader)), training)

    def permutation(self, n: int) -> np.ndarray:
        """A permutation of ``range(n)`` from the context's seeded generator."""
        return torch.randperm(n, generator=self._generator).numpy()

    def num_batches(self, which: str, batch_size: int | None = None) -> int:
        return -(-len(self._indices(which)) // (batch_size or self.batch_size))

    def cycle(self, which: str, model, **kwargs) -> Iterator[Batch]:
        """Endless batches of one split (reshuffled every pass)."""
        for _ in itertools.count():
            yield from self.loader(which, model, **kwargs)

    def subset_eval(self, idx: Sequence[int]) -> EvalSet:
        idx = torch.as_tensor(np.asarray(idx), dtype=torch.long)
        return EvalSet(self.train_eval.inputs[idx], self.train_eval.labels[idx])


def _pipeline_holder(dataset_cfg: dict) -> dict:
    """The (innermost) dataset config that carries the pipeline of a possibly wrapped
    dataset config."""
    while "pipeline" not in dataset_cfg and isinstance(dataset_cfg.get("dataset"), dict):
        dataset_cfg = dataset_cfg["dataset"]
    return dataset_cfg


def train_split_eval_cfg(cfg) -> dict:
    """The training split's dataset config with the test pipeline (no augmentation), also
    inside a wrapper such as ``SuperclassDataset`` (which keeps the pipeline in its inner
    ``dataset``)."""
    eval_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    target = _pipeline_holder(eval_cfg)
    source = _pipeline_holder(copy.deepcopy(cfg.test_dataloader.dataset))
    if "pipeline" in source:
        target["pipeline"] = copy.deepcopy(source["pipeline"])
    else:
        target.pop("pipeline", None)
    return eval_cfg


def build_context(cfg, model, seed: int = 0) -> UnlearnContext:
    """Build the datasets of a config (train pipeline, train split with the test pipeline,
    test split) and the context around them."""
    train_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    test_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    eval_cfg = train_split_eval_cfg(cfg)
    return UnlearnContext(
        model, build_dataset(train_cfg), build_dataset(eval_cfg), build_dataset(test_cfg),
        batch_size=cfg.train_dataloader.get("batch_size", 64), cfg=cfg, seed=seed,
        eval_batch_size=cfg.test_dataloader.get("batch_size", 64))
