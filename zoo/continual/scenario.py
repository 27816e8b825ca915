"""Class- and task-incremental scenarios: which classes each task brings.

A scenario splits the classes of a classification data set into ``T`` disjoint tasks, in a
seeded random order or a given order, with equal or given task sizes (the protocol of
Rebuffi et al., "iCaRL", CVPR 2017, and of van de Ven & Tolias, "Three scenarios for continual
learning", 2019). Labels are remapped to the order of appearance: the first class of task 0
becomes 0, and so on, so the classifier head grows by appending rows.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def dataset_labels(dataset) -> np.ndarray:
    """Labels of all samples of an mmengine-style data set, read via ``get_data_info(i)``.

    Raises ``TypeError`` when the data set has no ``get_data_info`` and ``KeyError`` naming
    the sample index when a sample has no ``'label'``.
    """
    if not hasattr(dataset, "get_data_info"):
        raise TypeError(
            f"{type(dataset).__name__} has no get_data_info(i); class-incremental scenarios "
            "need an mmengine BaseDataset whose samples carry a 'label'")
    if hasattr(dataset, "full_init"):
        dataset.full_init()
    labels = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        if "label" not in info:
            raise KeyError(f"{type(dataset).__name__} sample {i} has no 'label' "
                           f"(keys: {sorted(info)})")
        labels.append(int(info["label"]))
    return np.asarray(labels, dtype=np.int64)


class ClassIncrementalScenario:
    """Splits classes into ``num_tasks`` tasks.

    Args:
        classes: the classes to split (original labels). Usually taken from the data set by
            :meth:`from_dataset`.
        num_tasks: number of tasks (equal sizes; must divide the number of classes unless
            ``task_sizes`` is given).
        class_order: explicit order of the classes (a permutation of ``classes`` or of a
            subset of them; classes left out are not used). Overrides ``seed``/``shuffle``.
        task_sizes: number of classes per task (must sum to the number of ordered classes).
        seed: seed of the random class order (``numpy.random.default_rng(seed)``).
        shuffle: draw a random order (default); ``False`` keeps the sorted order.

    Attributes: ``class_order`` (list of original labels), ``task_classes`` (list per task),
    ``label_map`` (original label -> incremental label).
    """

    kind = "class"
    #: one softmax per task (task identity given at training and test time)
    multi_head = False

    def __init__(self, classes: Sequence[int], num_tasks: int | None = None,
                 class_order: Sequence[int] | None = None,
                 task_sizes: Sequence[int] | None = None, seed: int = 0,
                 shuffle: bool = True):
        classes = sorted({int(c) for c in classes})
        if not classes:
            raise ValueError("a class-incremental scenario needs at least one class")
        if class_order is not None:
            order = [int(c) for c in class_order]
            if len(set(order)) != len(order):
                raise ValueError(f"class_order repeats a class: {order}")
            unknown = sorted(set(order) - set(classes))
            if unknown:
                raise ValueError(f"class_order names classes {unknown} that the data set does "
                                 f"not have (it has {classes})")
        elif shuffle:
            order = [int(c) for c in np.random.default_rng(seed).permutation(classes)]
        else:
            order = list(classes)

        if task_sizes is not None:
            sizes = [int(s) for s in task_sizes]
            if any(s <= 0 for s in sizes):
                raise ValueError(f"task_sizes must be positive, got {sizes}")
            if sum(sizes) != len(order):
                raise ValueError(f"task_sizes {sizes} sum to {sum(sizes)} but {len(order)} "
                                 "classes are to be split")
            if num_tasks is not None and num_tasks != len(sizes):
                raise ValueError(f"num_tasks={num_tasks} disagrees with {len(sizes)} task_sizes")
        else:
            if num_tasks is None or num_tasks <= 0:
                raise ValueError("give num_tasks (> 0) or task_sizes")
            if len(order) % num_tasks:
                raise ValueError(f"{len(order)} classes do not split into {num_tasks} equal "
                                 "tasks; give task_sizes")
            sizes = [len(order) // num_tasks] * num_tasks

        self.class_order = order
        self.seed = seed
        bounds = np.cumsum([0] + sizes)
        self.task_classes = [order[bounds[t]:bounds[t + 1]] for t in range(len(sizes))]
        self.label_map = {c: i for i, c in enumerate(order)}

    @classmethod
    def for_task_datasets(cls, dataset) -> ClassIncrementalScenario:
        """One task per data set of a :class:`~zoo.continual.dataset.TaskSequenceDataset`
        (its classes in order, ``task_sizes`` = the classes of each data set)."""
        sizes = getattr(dataset, "task_num_classes", None)
        if sizes is None:
            raise TypeError(f"scenario task_datasets=True needs a TaskSequenceDataset as the "
                            f"training data set, got {type(dataset).__name__}")
        present = set(np.unique(dataset_labels(dataset)).tolist())
        missing = sorted(set(range(sum(sizes))) - present)
        if missing:
            raise ValueError(f"TaskSequenceDataset: classes {missing} have no training sample "
                             f"(task classes {list(sizes)})")
        return cls(classes=range(sum(sizes)), class_order=list(range(sum(sizes))),
                   task_sizes=list(sizes))

    @classmethod
    def from_dataset(cls, dataset, **kwargs) -> ClassIncrementalScenario:
        """Build a scenario over the classes present in ``dataset``."""
        return cls(classes=np.unique(dataset_labels(dataset)).tolist(), **kwargs)

    @property
    def num_tasks(self) -> int:
        return len(self.task_classes)

    @property
    def task_sizes(self) -> list[int]:
        return [len(c) for c in self.task_classes]

    def classes_up_to(self, task: int) -> list[int]:
        """Original labels of tasks ``0..task`` (inclusive), in order of appearance."""
        return [c for t in range(task + 1) for c in self.task_classes[t]]

    def num_seen_classes(self, task: int) -> int:
        return sum(self.task_sizes[:task + 1])

    def incremental_range(self, task: int) -> tuple[int, int]:
        """``[start, stop)`` of the incremental labels of ``task``."""
        start = sum(self.task_sizes[:task])
        return start, start + self.task_sizes[task]

    def task_of_incremental_label(self) -> np.ndarray:
        """Task index of every incremental label."""
        return np.repeat(np.arange(self.num_tasks), self.task_sizes)

    @property
    def num_classes(self) -> int:
        return len(self.class_order)

    def describe_task(self, task: int) -> str:
        return f"classes {self.task_classes[task]}"

    def to_dict(self) -> dict:
        out = dict(class_order=list(self.class_order),
                   task_classes=[list(c) for c in self.task_classes])
        return out if self.kind == "class" else dict(type=self.kind, **out)


class TaskIncrementalScenario(ClassIncrementalScenario):
    """Task-incremental learning with one head per task (van de Ven & Tolias 2019; the
    multi-head setting of Lopez-Paz & Ranzato, "GEM", NeurIPS 2017): the classes are split
    as in :class:`ClassIncrementalScenario`, the task identity is given at training and test
    time, and a sample of task ``t`` is scored by task ``t``'s head only (the rows
    :meth:`incremental_range` of the classifier; the softmax runs over them alone, so no other
    head receives a gradient from it). All heads exist from the start (the classifier has a row
    for every class), which makes the accuracy on a task before training it, and so forward
    transfer, defined. Same arguments as :class:`ClassIncrementalScenario`."""

    kind = "task"
    multi_head = True

    def head_of_labels(self, labels) -> np.ndarray:
        """Task (head) index of every incremental label."""
        return self.task_of_incremental_label()[np.asarray(labels)]


SCENARIO_TYPES = ("class", "task", "domain")


def build_scenario(cfg: dict | None, classes: Sequence[int]):
    """The scenario of a loop's ``scenario`` config: ``type='class'`` (default),
    ``'task'`` (multi-head task-incremental) or ``'domain'``
    (:class:`~zoo.continual.domain.DomainIncrementalScenario`); the other keys are the
    class's arguments."""
    cfg = dict(cfg or {})
    kind = cfg.pop("type", "class")
    if kind not in SCENARIO_TYPES:
        raise ValueError(f"scenario type must be one of {SCENARIO_TYPES}, got {kind!r}")
    if kind == "domain":
        from .domain import DomainIncrementalScenario

        return DomainIncrementalScenario(classes=classes, **cfg)
    cls = TaskIncrementalScenario if kind == "task" else ClassIncrementalScenario
    return cls(classes=classes, **cfg)


def check_scenario_config(loop_cfg: dict, path: str) -> list[str]:
    """Config check (:mod:`zoo.config_check`) of a continual loop's ``scenario`` dict: names
    every key :class:`ClassIncrementalScenario` takes no argument for."""
    from zoo.config_check import argument_problems

    scenario = loop_cfg.get("scenario")
    if not isinstance(scenario, dict) or scenario.get("task_datasets"):
        return []  # one task per data set; the loop names any other key
    kind = scenario.get("type", "class")
    if kind == "domain":
        from .domain import DomainIncrementalScenario as cls
    elif kind in SCENARIO_TYPES:
        cls = TaskIncrementalScenario if kind == "task" else ClassIncrementalScenario
    else:
        return [f"{path}.scenario.type: {kind!r} is not one of {SCENARIO_TYPES}"]
    return argument_problems(cls, {k: v for k, v in scenario.items() if k != "type"},
                             f"{path}.scenario", passed=("classes", "task_datasets"))
