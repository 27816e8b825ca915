"""Gradient episodic memory (GEM) with its dual quadratic programme solved by NNLS."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import nnls

from zoo.registry import STRATEGIES

from .agem import EpisodicMemory
from .base import Strategy


def gem_dual(g: torch.Tensor, memories: torch.Tensor, margin: float = 0.0,
              eps: float = 0.0) -> torch.Tensor:
    """The dual solution ``v`` [K] (float64) of GEM's projection; see :func:`gem_projection`."""
    m = memories.detach().double().cpu().numpy()
    gv = g.detach().double().cpu().numpy()
    k = len(m)
    gram = m @ m.T
    gram = 0.5 * (gram + gram.T) + eps * np.eye(k)
    # a rank-deficient memory (e.g. two identical task gradients): the smallest ridge that
    # makes the Cholesky factor exist; the projection is unchanged to ~1e-10
    jitter = 0.0 if eps > 0 else 1e-12 * max(float(np.trace(gram)), 1e-30)
    chol = np.linalg.cholesky(gram + jitter * np.eye(k))
    c = gram @ np.full(k, margin) + m @ gv
    u, _ = nnls(chol.T, -np.linalg.solve(chol, c), maxiter=50 * max(k, 1))
    return torch.from_numpy(u + margin)


def gem_projection(g: torch.Tensor, memories: torch.Tensor, margin: float = 0.0,
                   eps: float = 0.0) -> torch.Tensor:
    """GEM's update direction (Lopez-Paz & Ranzato 2017, Eq. 10-13).

    ``g`` [P] is the current gradient, ``memories`` [K, P] the gradients ``g_k`` of the past
    tasks' memories. The primal ``min_z 1/2 ||z - g||^2 s.t. g_k . z >= 0`` has the dual
    ``min_v 1/2 v^T (M M^T + eps I) v + (M g)^T v s.t. v >= margin`` and ``z = g + M^T v``.
    ``margin`` is the paper's ``gamma`` added to ``v`` (the official code's
    ``memory_strength``, 0.5 there) and ``eps`` the official ridge on ``M M^T``; with both 0
    ``z`` is the exact Euclidean projection onto the cone of non-conflicting directions.

    The dual (a QP with bounds only) is solved exactly as non-negative least squares: with
    ``v = margin + u`` and ``M M^T + eps I = L L^T`` (Cholesky) the objective is
    ``1/2 ||L^T u + L^{-1} c||^2 + const``, ``c = (M M^T + eps I) margin + M g``, so
    ``u = nnls(L^T, -L^{-1} c)`` (scipy; the official code's quadprog is not needed).
    Computed in float64.
    """
    v = gem_dual(g, memories, margin, eps)
    return (g.detach().double() + v.to(g.device) @ memories.detach().double()).to(g)


class TaskEpisodicMemory(EpisodicMemory):
    """A-GEM's equal-share episodic memory that also records the task of every sample."""

    def __init__(self, size: int):
        super().__init__(size)
        self.tasks: torch.Tensor | None = None

    def add_task(self, inputs, labels, per_task, generator=None, task: int = 0) -> None:
        before = len(self)
        super().add_task(inputs, labels, per_task, generator)
        ids = torch.full((len(self) - before,), int(task), dtype=torch.long)
        self.tasks = ids if self.tasks is None else torch.cat([self.tasks, ids])

    def of_task(self, task: int) -> tuple[torch.Tensor, torch.Tensor]:
        keep = self.tasks == task
        return self.inputs[keep], self.labels[keep]

    def state_dict(self) -> dict:
        state = super().state_dict()
        if self.tasks is not None:
            state["tasks"] = self.tasks.clone()
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.tasks = state.get("tasks")


@STRATEGIES.register_module()
class GEM(Strategy):
    """GEM (Lopez-Paz & Ranzato, "Gradient Episodic Memory for Continual Learning", NeurIPS
    2017; official code facebookresearch/GradientEpisodicMemory, mammoth ``models/gem.py``).

    Memory: after each task, ``memory_size // num_tasks`` random samples of it, kept with
    their task. At every step the gradient ``g_k`` of the cross-entropy (over the seen
    classes, as mammoth's class-incremental GEM) on the whole memory of each past task
    ``k`` is computed, and the current batch's gradient ``g``; if any ``g . g_k < 0`` the
    step uses :func:`gem_projection` of ``g`` (the dual QP, over all trainable parameters
    flattened), which satisfies ``g~ . g_k >= 0`` for every past task. ``margin`` (the
    paper's gamma, official default 0.5) and ``eps`` (official 1e-3) as in the official code.

    The projected gradient reaches the loop's optimizer as the gradient of
    ``CE + sum_k v_k (g_k . theta)`` with the constants ``v`` of the dual solution, written so
    that its value is the cross-entropy (no change to the loop; one backward pass per past
    task per step, as the paper).
    """

    family = "replay"

    def __init__(self, memory_size: int = 200, margin: float = 0.5, eps: float = 1e-3):
        super().__init__()
        if margin < 0:
            raise ValueError(f"GEM margin must be >= 0, got {margin}")
        self.memory = TaskEpisodicMemory(memory_size)
        self.margin, self.eps = float(margin), float(eps)
        self.num_projected = 0  # steps whose gradient was projected (for logs and tests)

    def loss(self, model, inputs, labels):
        logits = model.logits(inputs)
        loss = F.cross_entropy(logits, labels)
        if self.memory.is_empty():
            return {"loss_cls": loss}
        params = [p for p in model.parameters() if p.requires_grad]

        def flat(grads):
            return torch.cat([(t if t is not None else torch.zeros_like(p)).flatten()
                              for t, p in zip(grads, params)])

        past = []
        for task in self.memory.tasks.unique().tolist():
            x, y = self.memory.of_task(task)
            mem_loss = F.cross_entropy(model.logits(x.to(inputs.device)), y.to(inputs.device))
            past.append(flat(torch.autograd.grad(mem_loss, params, allow_unused=True)))
        memories = torch.stack(past)
        g = flat(torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True))
        if bool((memories @ g >= 0).all()):
            return {"loss_cls": loss}
        self.num_projected += 1
        v = gem_dual(g, memories, self.margin, self.eps)
        direction = (v.to(memories) @ memories).detach()  # g~ - g = M^T v
        offset = 0
        correction = 0.0
        for p in params:
            n = p.numel()
            correction = correction + (direction[offset:offset + n].view_as(p) * p).sum()
            offset += n
        # value 0 (the logged loss stays the cross-entropy), gradient M^T v
        return {"loss_cls": loss, "loss_gem": correction - correction.detach()}

    def after_task(self, model, task):
        inputs, labels = self.context.collect(self.context.task_dataset(task))
        self.memory.add_task(inputs, labels, self.memory.size // self.scenario.num_tasks,
                             self.context.generator, task=task)

    def state_dict(self):
        return {"memory": self.memory.state_dict()}

    def load_state_dict(self, state, model):
        self.memory.load_state_dict(state["memory"])
