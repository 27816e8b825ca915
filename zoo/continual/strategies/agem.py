"""Averaged gradient episodic memory (A-GEM)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.registry import STRATEGIES

from ..buffers import TensorMemory
from .base import Strategy


def agem_projection(g: torch.Tensor, g_ref: torch.Tensor) -> torch.Tensor:
    """A-GEM's update direction (Chaudhry et al. 2019, Eq. 11): ``g`` when ``g . g_ref >= 0``,
    else ``g - (g . g_ref / g_ref . g_ref) g_ref`` (the closest vector to ``g`` that does not
    increase the memory loss to first order)."""
    dot = torch.dot(g, g_ref)
    if dot >= 0:
        return g
    return g - dot / torch.dot(g_ref, g_ref).clamp_min(1e-12) * g_ref


class EpisodicMemory(TensorMemory):
    """Samples stored at task ends, an equal share ``size // num_tasks`` for each task
    (A-GEM's episodic memory; the draw is seeded)."""

    def add_task(self, inputs: torch.Tensor, labels: torch.Tensor, per_task: int,
                 generator: torch.Generator | None = None) -> None:
        keep = torch.randperm(len(labels), generator=generator)[:per_task]
        inputs, labels = inputs[keep].detach().cpu(), labels[keep].detach().cpu().long()
        self.inputs = inputs if self.inputs is None else torch.cat([self.inputs, inputs])
        self.labels = labels if self.labels is None else torch.cat([self.labels, labels])


@STRATEGIES.register_module()
class AGEM(Strategy):
    """A-GEM (Chaudhry, Ranzato, Rohrbach & Elhoseiny, "Efficient Lifelong Learning with
    A-GEM", ICLR 2019; mammoth ``models/agem.py``).

    At every step the gradient ``g`` of the current batch's cross-entropy is compared with the
    gradient ``g_ref`` of the cross-entropy on a random memory minibatch
    (``replay_batch_size``, default the batch size); when they conflict (``g . g_ref < 0``)
    the step uses ``g`` projected onto the half-space ``g . g_ref >= 0``
    (:func:`agem_projection`), over all trainable parameters flattened. Memory: after each
    task, ``memory_size // num_tasks`` random samples of it (the paper's episodic memory).

    The projected gradient reaches the loop's optimizer as the gradient of
    ``CE - c * sum(g_ref . theta)`` with the constant ``c = g . g_ref / |g_ref|^2`` (so no
    change to the loop is needed; it costs one extra backward pass). Under distributed
    training every rank projects its own gradient before the all-reduce.
    """

    family = "replay"

    def __init__(self, memory_size: int = 200, replay_batch_size: int | None = None):
        super().__init__()
        self.memory = EpisodicMemory(memory_size)
        self.replay_batch_size = replay_batch_size
        self.num_projected = 0  # steps whose gradient was projected (for logs and tests)

    def loss(self, model, inputs, labels):
        loss = F.cross_entropy(model.logits(inputs), labels)
        if self.memory.is_empty():
            return {"loss_cls": loss}
        params = [p for p in model.parameters() if p.requires_grad]
        mem = self.replay_sample(self.memory, self.replay_batch_size, inputs.device)
        ref = torch.autograd.grad(F.cross_entropy(model.logits(mem["inputs"]), mem["labels"]),
                                  params, allow_unused=True)
        g = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        flat = [torch.cat([(t if t is not None else torch.zeros_like(p)).flatten()
                           for t, p in zip(ts, params)]) for ts in (g, ref)]
        dot = torch.dot(flat[0], flat[1])
        if dot >= 0:
            return {"loss_cls": loss}
        self.num_projected += 1
        c = (dot / torch.dot(flat[1], flat[1]).clamp_min(1e-12)).detach()
        correction = sum((r.detach() * p).sum() for r, p in zip(ref, params) if r is not None)
        return {"loss_cls": loss, "loss_agem": -c * correction}

    def after_task(self, model, task):
        inputs, labels = self.context.collect(self.context.task_dataset(task))
        self.memory.add_task(inputs, labels, self.memory.size // self.scenario.num_tasks,
                             self.context.generator)

    def state_dict(self):
        return {"memory": self.memory.state_dict()}

    def load_state_dict(self, state, model):
        self.memory.load_state_dict(state["memory"])
