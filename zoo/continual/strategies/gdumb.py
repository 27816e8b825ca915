"""GDumb: a greedy class-balanced memory and a model retrained from scratch on it."""
from __future__ import annotations

import torch
from torch import nn

from zoo.registry import STRATEGIES

from ..buffers import TensorMemory
from ..dataset import MemoryDataset
from ..head import classifier_of
from .base import Strategy, state_of


class GreedyBalancedMemory(TensorMemory):
    """GDumb's sampler (Prabhu, Torr & Dokania 2020, Algorithm 1): a sample is stored while
    the memory has room; once full, a sample of class ``y`` is stored only if ``y`` holds
    fewer than ``size / classes seen`` samples, replacing a random sample of the largest
    class."""

    def __init__(self, size: int):
        super().__init__(size)
        self.classes_seen: set[int] = set()

    def add(self, x: torch.Tensor, y: int, generator: torch.Generator | None = None) -> None:
        self.classes_seen.add(int(y))
        x, label = x.detach().cpu()[None].clone(), torch.tensor([int(y)])
        if len(self) < self.size:
            self.inputs = x if self.inputs is None else torch.cat([self.inputs, x])
            self.labels = label if self.labels is None else torch.cat([self.labels, label])
            return
        counts = torch.bincount(self.labels, minlength=max(self.classes_seen) + 1)
        if counts[int(y)] >= self.size / len(self.classes_seen):
            return
        largest = torch.nonzero(counts == counts.max()).flatten()[0]
        slots = torch.nonzero(self.labels == largest).flatten()
        slot = slots[torch.randint(len(slots), (1,), generator=generator)]
        self.inputs[slot], self.labels[slot] = x, label

    def state_dict(self) -> dict:
        return {**super().state_dict(), "classes_seen": sorted(self.classes_seen)}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.classes_seen = {int(c) for c in state["classes_seen"]}


@torch.no_grad()
def reinitialise(model: nn.Module, initial: dict[str, torch.Tensor],
                 generator: torch.Generator | None = None) -> None:
    """Put ``model`` back to its ``initial`` weights; rows of the (grown) classifier beyond
    the initial ones get PyTorch's default ``nn.Linear`` initialisation."""
    fc = classifier_of(model)
    bound = 1.0 / fc.in_features ** 0.5
    for name, value in model.state_dict().items():
        start = initial[name]
        if start.shape == value.shape:
            value.copy_(start)
            continue
        fresh = torch.empty(value.shape, dtype=value.dtype).uniform_(-bound, bound,
                                                                     generator=generator)
        fresh[tuple(slice(0, s) for s in start.shape)] = start
        value.copy_(fresh)


@STRATEGIES.register_module()
class GDumb(Strategy):
    """GDumb (Prabhu, Torr & Dokania, "GDumb: A Simple Approach that Questions Our Progress in
    Continual Learning", ECCV 2020; official code drimpossible/GDumb).

    The stream only fills a class-balanced greedy memory of ``memory_size`` samples
    (:class:`GreedyBalancedMemory`; each task's samples are offered in a seeded random
    order). At every task the model is reset to its initial weights ("from scratch") and
    trained for the loop's ``epochs_per_task`` on the memory alone, then evaluated. The
    paper's training recipe (SGDR schedule, CutMix, many epochs) is the config's business.
    """

    family = "replay"

    def __init__(self, memory_size: int = 200):
        super().__init__()
        self.memory = GreedyBalancedMemory(memory_size)
        self.initial: dict[str, torch.Tensor] | None = None

    def prepare_model(self, model, task):
        if self.initial is None:
            self.initial = state_of(model)
        else:
            reinitialise(model, self.initial,
                         torch.Generator().manual_seed(self.context.seed + 1000 + task))
        inputs, labels = self.context.collect(self.context.task_dataset(task))
        order = torch.randperm(len(labels), generator=self.context.generator)
        for i in order.tolist():
            self.memory.add(inputs[i], int(labels[i]), self.context.generator)

    def train_dataset(self, task):
        return MemoryDataset(self.memory.inputs, self.memory.labels)

    def state_dict(self):
        return {"memory": self.memory.state_dict(), "initial": self.initial or {}}

    def load_state_dict(self, state, model):
        self.memory.load_state_dict(state["memory"])
        self.initial = dict(state["initial"]) or None
