"""Domain-incremental scenarios: every task holds the same classes under a new input
distribution (van de Ven & Tolias, "Three scenarios for continual learning", 2019: the
domain-incremental setting; rotated and permuted MNIST of Lopez-Paz & Ranzato, "Gradient
Episodic Memory", NeurIPS 2017, and Goodfellow et al. 2013).

Three kinds of domain, chosen by exactly one argument of :class:`DomainIncrementalScenario`:

* ``rotations=[a_0, a_1, ...]`` — task ``t`` shows every image rotated by ``a_t`` degrees
  (counter-clockwise as displayed, row 0 at the top; bilinear, zero outside);
* ``permutations=T`` — task ``t`` shows every image with its pixels shuffled by a fixed,
  seeded permutation (one per task, drawn with ``numpy.random.default_rng(seed + t)``);
* ``groups=[[v, ...], ...]`` with ``key`` — task ``t`` holds the samples whose info ``key``
  (e.g. ``'subject'``) is in group ``t``, in the training and in the evaluation data alike.

A single head covers all classes in every task (labels are not remapped) and the accuracy of
task ``j`` is measured on the evaluation data of domain ``j``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from torch.utils.data import Dataset


class RotateImage:
    """Rotate a 2-D image (or ``[H, W, C]``) by ``angle`` degrees about its centre,
    counter-clockwise as displayed (row 0 at the top), keeping its size; bilinear
    interpolation, zero outside the source."""

    def __init__(self, angle: float):
        self.angle = float(angle)

    def __call__(self, img: np.ndarray) -> np.ndarray:
        from scipy.ndimage import rotate

        img = np.asarray(img)
        out = rotate(img, self.angle, axes=(1, 0), reshape=False, order=1, mode="constant",
                     cval=0.0)
        return out.astype(img.dtype, copy=False)

    def __repr__(self) -> str:
        return f"RotateImage({self.angle:g})"


class PermutePixels:
    """Shuffle the pixels of an ``[H, W]`` image by a fixed permutation of ``H * W``."""

    def __init__(self, permutation: np.ndarray):
        self.permutation = np.asarray(permutation, dtype=np.int64)

    def __call__(self, img: np.ndarray) -> np.ndarray:
        img = np.asarray(img)
        flat = img.reshape(-1)
        if flat.size != self.permutation.size:
            raise ValueError(f"PermutePixels: an image of {flat.size} pixels for a permutation "
                             f"of {self.permutation.size}")
        return flat[self.permutation].reshape(img.shape)


class DomainTaskDataset(Dataset):
    """The samples ``indices`` of ``dataset`` as domain ``task``: ``transform`` (if any) is
    applied to the info's ``'img'`` before the inner pipeline runs; the info gets
    ``domain_task``. Labels are the inner labels (``labels``)."""

    def __init__(self, dataset, indices: np.ndarray, labels: np.ndarray, task: int,
                 transform: Callable | None = None):
        self.dataset, self.task, self.transform = dataset, int(task), transform
        self.indices = np.asarray(indices, dtype=np.int64)
        self.labels = np.asarray(labels, dtype=np.int64)[self.indices]

    @property
    def metainfo(self) -> dict:
        return dict(getattr(self.dataset, "metainfo", {}) or {}, domain_task=self.task)

    @property
    def pipeline(self):
        return getattr(self.dataset, "pipeline", None)

    def __len__(self) -> int:
        return len(self.indices)

    def get_data_info(self, idx: int) -> dict:
        info = self.dataset.get_data_info(int(self.indices[idx]))
        if self.transform is not None:
            if "img" not in info:
                raise KeyError(f"{type(self.dataset).__name__} sample {int(self.indices[idx])} "
                               f"has no 'img' for the domain transform {self.transform!r}")
            info["img"] = self.transform(info["img"])
        info["domain_task"] = self.task
        return info

    def __getitem__(self, idx: int):
        info = self.get_data_info(idx)
        out = self.pipeline(info) if self.pipeline is not None else info
        if out is None:
            raise RuntimeError(f"DomainTaskDataset: the pipeline of "
                               f"{type(self.dataset).__name__} dropped sample "
                               f"{int(self.indices[idx])}")
        return out

    def full_init(self) -> None:
        """Present for mmengine's dataset protocol."""


class DomainIncrementalScenario:
    """Tasks are domains over the same classes (see the module docstring).

    Args:
        classes: the classes of the data set (labels must be ``0 .. K-1``: one head).
        rotations: angle in degrees of every task.
        permutations: number of tasks with seeded pixel permutations.
        groups: values of ``key`` of every task (disjoint).
        key: the sample-info field the groups refer to.
        seed: seed of the permutations.

    The class-incremental attributes the loop and strategies read are defined for one head
    over all classes: ``task_classes[t]`` is every class, ``num_seen_classes`` is ``K``.
    """

    kind = "domain"
    multi_head = False

    def __init__(self, classes: Sequence[int], rotations: Sequence[float] | None = None,
                 permutations: int | None = None, groups: Sequence[Sequence] | None = None,
                 key: str = "subject", seed: int = 0):
        classes = sorted({int(c) for c in classes})
        if classes != list(range(len(classes))):
            raise ValueError(f"a domain-incremental scenario uses one head over labels 0..K-1; "
                             f"the data set has labels {classes}")
        given = [n for n, v in (("rotations", rotations), ("permutations", permutations),
                                ("groups", groups)) if v is not None]
        if len(given) != 1:
            raise ValueError("a domain-incremental scenario takes exactly one of rotations=, "
                             f"permutations=, groups= (got {given or 'none'})")
        self.domain_type, self.seed, self.key = given[0], int(seed), key
        self.rotations = [float(a) for a in rotations] if rotations is not None else None
        self.groups = [list(g) for g in groups] if groups is not None else None
        if self.rotations is not None:
            num_tasks = len(self.rotations)
        elif self.groups is not None:
            num_tasks = len(self.groups)
            flat = [v for g in self.groups for v in g]
            if any(not g for g in self.groups):
                raise ValueError(f"scenario groups: every group needs a value, got {self.groups}")
            if len(set(flat)) != len(flat):
                raise ValueError(f"scenario groups overlap: {self.groups}")
        else:
            num_tasks = int(permutations)
        if num_tasks < 1:
            raise ValueError(f"a domain-incremental scenario needs at least one task, got "
                             f"{num_tasks}")
        self.classes = classes
        self.class_order = list(classes)
        self.task_classes = [list(classes) for _ in range(num_tasks)]
        self.label_map = {c: c for c in classes}
        self._permutations: dict[tuple[int, int], np.ndarray] = {}
        self._key_values: dict[int, np.ndarray] = {}

    # the class-incremental interface, for one head over all classes ----------------------
    @property
    def num_tasks(self) -> int:
        return len(self.task_classes)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def task_sizes(self) -> list[int]:
        return [len(c) for c in self.task_classes]

    def num_seen_classes(self, task: int) -> int:
        return self.num_classes

    def incremental_range(self, task: int) -> tuple[int, int]:
        return 0, self.num_classes

    def classes_up_to(self, task: int) -> list[int]:
        return list(self.classes)

    def describe_task(self, task: int) -> str:
        if self.rotations is not None:
            return f"rotation {self.rotations[task]:g} degrees"
        if self.groups is not None:
            return f"{self.key} in {self.groups[task]}"
        return f"pixel permutation {task} (seed {self.seed + task})"

    def to_dict(self) -> dict:
        out = dict(type="domain", domain_type=self.domain_type, class_order=list(self.classes),
                   task_classes=[list(c) for c in self.task_classes])
        if self.rotations is not None:
            out["rotations"] = list(self.rotations)
        elif self.groups is not None:
            out.update(key=self.key, groups=[list(g) for g in self.groups])
        else:
            out.update(permutations=self.num_tasks, permutation_seed=self.seed)
        return out

    # data ----------------------------------------------------------------------------------
    def transform(self, task: int, image_shape: tuple[int, ...] | None = None
                  ) -> Callable | None:
        """The input transform of ``task`` (``None`` for subject groups)."""
        if self.rotations is not None:
            return RotateImage(self.rotations[task])
        if self.groups is not None:
            return None
        if image_shape is None:
            raise ValueError("pixel permutations need the image shape")
        size = int(np.prod(image_shape))
        key = (task, size)
        if key not in self._permutations:
            self._permutations[key] = np.random.default_rng(self.seed + task).permutation(size)
        return PermutePixels(self._permutations[key])

    def _values_of(self, dataset) -> np.ndarray:
        """``key`` of every sample of ``dataset`` (read once per data set)."""
        if id(dataset) not in self._key_values:
            values = []
            for i in range(len(dataset)):
                info = dataset.get_data_info(i)
                if self.key not in info:
                    raise KeyError(f"scenario groups: sample {i} of {type(dataset).__name__} "
                                   f"has no {self.key!r} (keys: {sorted(info)})")
                values.append(info[self.key])
            self._key_values[id(dataset)] = np.asarray(values)
        return self._key_values[id(dataset)]

    def task_dataset(self, dataset, task: int, labels: np.ndarray) -> DomainTaskDataset:
        """Domain ``task`` of ``dataset`` (training or evaluation data)."""
        if not 0 <= task < self.num_tasks:
            raise IndexError(f"task {task} outside 0..{self.num_tasks - 1}")
        if self.groups is not None:
            values = self._values_of(dataset)
            indices = np.flatnonzero(np.isin(values, self.groups[task]))
            missing = sorted(set(self.groups[task]) - set(values.tolist()))
            if missing:
                raise ValueError(f"scenario groups: {type(dataset).__name__} has no sample with "
                                 f"{self.key} in {missing} (task {task + 1}; values present: "
                                 f"{sorted(set(values.tolist()))})")
            return DomainTaskDataset(dataset, indices, labels, task)
        shape = None
        if self.rotations is None:  # permutations: the shape of the first image
            shape = np.asarray(dataset.get_data_info(0)["img"]).shape
        return DomainTaskDataset(dataset, np.arange(len(dataset)), labels, task,
                                 self.transform(task, shape))
