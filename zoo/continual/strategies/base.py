"""The strategy interface of :class:`~zoo.continual.loop.ContinualTrainLoop`.

A strategy sees the loop only through the :class:`~zoo.continual.context.StrategyContext`
given to :meth:`Strategy.setup` (``self.context``): scenario, seed, batch sizes, generator,
iteration counters, task data and the rank-consistent batch helpers.

The loop calls, for each task ``t``: ``num_outputs`` (the head is resized to it),
``prepare_model`` (after the head has grown, before the optimizer is built),
``train_dataset``, ``before_task``; per epoch ``before_epoch``; per step ``loss`` and
``after_iter``; then ``after_task`` and, for evaluation, ``predict``.
``state_dict``/``load_state_dict`` hold everything needed to continue at the next task
(tensors and plain containers only). ``load_state_dict`` runs before the model's weights
are loaded, so a strategy that adds modules to the model rebuilds them there.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

if TYPE_CHECKING:
    from ..context import StrategyContext


class Strategy:
    """Base class; unchanged it is plain fine-tuning (cross-entropy over the seen classes).

    ``family`` places the method in the expected order of the results table
    (:mod:`zoo.continual.report`): ``'upper bound'``, ``'replay'``, ``'regularisation'``,
    ``'parameter isolation'``, ``'lower bound'`` or ``'other'``.
    """

    family: str = "other"
    #: ``False``: the loop skips the training epochs (methods that take no gradient step,
    #: e.g. a prototype classifier on a frozen backbone); the task-end hook still runs.
    trains: bool = True
    #: the loss scores every sample with its own task's head in a multi-head
    #: (task-incremental) scenario by calling :meth:`logits_for`. Must be set on the class
    #: itself: a subclass that rewrites the loss is refused there until it declares it again.
    multi_head_ready: bool = False

    def __init__(self) -> None:
        self.context = None
        self.task = 0

    # wiring ----------------------------------------------------------------------------
    def setup(self, context: StrategyContext) -> None:
        """Receive the loop's :class:`StrategyContext` (or a stand-in with the same names)."""
        self.context = context

    @property
    def loop(self) -> StrategyContext:
        """Old name of :attr:`context`."""
        return self.context

    @loop.setter
    def loop(self, context: StrategyContext) -> None:
        self.context = context

    @property
    def scenario(self):
        return self.context.scenario

    @property
    def name(self) -> str:
        return type(self).__name__

    # hooks -----------------------------------------------------------------------------
    def num_outputs(self, task: int) -> int:
        """Width of ``cls_head.fc`` during ``task`` (default: the classes seen so far; the
        head grows). :meth:`predict` must still return scores of the seen classes only."""
        return self.scenario.num_seen_classes(task)

    def prepare_model(self, model: nn.Module, task: int) -> None:
        """Change the model's structure for ``task`` (called before the optimizer is built)."""

    def train_dataset(self, task: int) -> Dataset:
        """The data trained on during ``task`` (default: the task's own classes)."""
        return self.context.task_dataset(task)

    def before_task(self, model: nn.Module, task: int) -> None:
        """Called once the optimizer is built, before the first epoch of ``task``."""

    def before_epoch(self, model: nn.Module) -> None:
        """Called after ``model.train()`` at the start of every epoch."""

    def loss(self, model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor
             ) -> dict[str, torch.Tensor]:
        return {"loss_cls": F.cross_entropy(self.logits_for(model, inputs, labels), labels)}

    def logits_for(self, model: nn.Module, inputs, labels: torch.Tensor) -> torch.Tensor:
        """``model.logits(inputs)``; in a multi-head scenario each sample keeps only its own
        task's head (:func:`~zoo.continual.head.own_head_logits`)."""
        logits = model.logits(inputs)
        scenario = getattr(self.context, "scenario", None)  # None: used outside a loop
        if getattr(scenario, "multi_head", False):
            from ..head import own_head_logits

            logits = own_head_logits(logits, labels, scenario)
        return logits

    def after_iter(self, model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> None:
        """Called after each optimizer step (buffer updates, periodic fine-tuning)."""

    def after_task(self, model: nn.Module, task: int) -> None:
        """Called after the last epoch of ``task``, before its evaluation."""

    @torch.no_grad()
    def predict(self, model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
        """Scores ``[N, K_seen]``; the arg-max is the prediction."""
        return model.logits(inputs)

    # replay helpers (rank-consistent under distributed training) ------------------------
    def replay_sample(self, buffer, n: int | None = None, device=None) -> dict[str, torch.Tensor]:
        """A replay minibatch: ``n`` samples (default: the global batch size) drawn with the
        loop's rank-independent generator; under distributed training this rank's share."""
        n = n or self.context.global_batch_size
        batch = self.context.rank_share(buffer.sample(n, generator=self.context.generator))
        return batch if device is None else {k: v.to(device) for k, v in batch.items()}

    def buffer_add(self, buffer, inputs: torch.Tensor, labels: torch.Tensor,
                   **extra: torch.Tensor | None) -> None:
        """Offer the global training batch (gathered over ranks) to a reservoir buffer."""
        names = list(extra)
        gathered = self.context.gather_batch(inputs, labels, *extra.values())
        buffer.add(gathered[0], gathered[1], **dict(zip(names, gathered[2:])),
                   generator=self.context.generator)

    # state -----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict, model: nn.Module) -> None:
        if state:
            raise ValueError(f"{self.name} keeps no state but the checkpoint holds "
                             f"{sorted(state)}")


def frozen_copy(model: nn.Module) -> nn.Module:
    """A deep copy in eval mode with gradients off (a teacher)."""
    teacher = copy.deepcopy(model)
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def state_of(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
