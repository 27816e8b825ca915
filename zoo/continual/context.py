"""What a continual strategy may use of the loop that runs it."""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch.utils.data import Dataset

if TYPE_CHECKING:
    from .dataset import ClassIncrementalSubset
    from .loop import ContinualTrainLoop
    from .scenario import ClassIncrementalScenario


class StrategyContext:
    """The narrow, typed view of :class:`~zoo.continual.loop.ContinualTrainLoop` handed to
    ``Strategy.setup``: the scenario, the run's seed and batch sizes, the rank-independent
    random generator, the loop's iteration counters, the task data, and the rank-consistent
    batch helpers. Strategies see nothing else of the loop.

    Values that change during the run (``iter``, the optimizer behind ``runner``) are read
    live from the loop.
    """

    def __init__(self, loop: ContinualTrainLoop):
        self._loop = loop

    @property
    def scenario(self) -> ClassIncrementalScenario:
        return self._loop.scenario

    @property
    def seed(self) -> int:
        return self._loop.seed

    @property
    def batch_size(self) -> int:
        """Training batch size of one process."""
        return self._loop.batch_size

    @property
    def global_batch_size(self) -> int:
        """Training batch size summed over the ranks."""
        return self._loop.global_batch_size

    @property
    def generator(self) -> torch.Generator:
        """Random numbers that agree on all ranks (buffer updates, replay draws); re-seeded
        from the run seed at every epoch and task end."""
        return self._loop.generator

    @property
    def iter(self) -> int:
        return self._loop.iter

    @property
    def max_iters(self) -> int:
        return self._loop.max_iters

    @property
    def runner(self):
        """The mmengine runner, for ``runner.optim_wrapper`` (rebuilt at every task)."""
        return self._loop.runner

    def subset(self, classes, train: bool = True) -> ClassIncrementalSubset:
        """Samples of the given original classes, labels remapped to incremental ones."""
        return self._loop.subset(classes, train)

    def task_dataset(self, task: int, train: bool = True) -> ClassIncrementalSubset:
        return self._loop.task_dataset(task, train)

    def collect(self, dataset) -> tuple[torch.Tensor, torch.Tensor]:
        """All packed inputs and incremental labels of ``dataset`` (gathered over ranks)."""
        return self._loop.collect(dataset)

    def gather_batch(self, *tensors: torch.Tensor | None) -> tuple:
        """The current global training batch (gathered over ranks, padding dropped)."""
        return self._loop.gather_batch(*tensors)

    def rank_share(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """This rank's part of a minibatch drawn identically on all ranks."""
        return self._loop.rank_share(batch)

    def tasks_dataset(self, tasks) -> Dataset:
        """The training data of several tasks as one data set (e.g. the domains so far)."""
        return self._loop.tasks_dataset(tasks)
