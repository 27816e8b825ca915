"""Weight-importance regularisers: synaptic intelligence (SI) and memory aware synapses
(MAS). Both add ``lambda_ * sum_k Omega_k (theta_k - theta*_k)^2`` with ``theta*`` the
weights at the end of the previous task; they differ in how ``Omega`` is measured."""
from __future__ import annotations

import torch
from torch import nn

from zoo.registry import STRATEGIES

from .base import Strategy
from .per_sample import per_sample_grads, squared_norm_loss


def _match(param: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """The block of ``param`` that existed when ``ref`` was stored (the head grows)."""
    if param.shape == ref.shape:
        return param
    return param[tuple(slice(0, s) for s in ref.shape)]


def _grow(old: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``old`` in a zero tensor of ``like``'s shape."""
    if old.shape == like.shape:
        return old.clone()
    out = torch.zeros_like(like)
    out[tuple(slice(0, s) for s in old.shape)] = old
    return out


class ImportancePenalty(Strategy):
    """Shared part: the quadratic penalty over the stored importance and anchor."""

    family = "regularisation"

    def __init__(self, lambda_: float):
        super().__init__()
        self.lambda_ = float(lambda_)
        self.importance: dict[str, torch.Tensor] = {}
        self.anchor: dict[str, torch.Tensor] = {}

    def penalty(self, model: nn.Module) -> torch.Tensor:
        params = dict(model.named_parameters())
        total = next(iter(params.values())).new_zeros(())
        for name, omega in self.importance.items():
            delta = _match(params[name], omega) - self.anchor[name].to(omega.device)
            total = total + (omega.to(delta.device) * delta ** 2).sum()
        return self.lambda_ * total

    def loss(self, model, inputs, labels):
        losses = super().loss(model, inputs, labels)
        if self.importance:
            losses["loss_penalty"] = self.penalty(model)
        return losses

    def add_importance(self, model: nn.Module, new: dict[str, torch.Tensor]) -> None:
        """``Omega += new`` (grown to the current shapes) and the anchor := current weights."""
        for name, value in new.items():
            old = self.importance.get(name)
            self.importance[name] = value if old is None else _grow(old, value) + value
        self.anchor = {n: p.detach().cpu().clone() for n, p in model.named_parameters()
                       if n in self.importance}

    def state_dict(self):
        return {"importance": self.importance, "anchor": self.anchor}

    def load_state_dict(self, state, model):
        self.importance = dict(state["importance"])
        self.anchor = dict(state["anchor"])


@STRATEGIES.register_module()
class SI(ImportancePenalty):
    """Synaptic intelligence (Zenke, Poole & Ganguli, "Continual Learning Through Synaptic
    Intelligence", ICML 2017; official code ganguli-lab/pathint).

    During a task every step adds ``-g_k * Delta theta_k`` to the path integral ``omega_k``,
    with ``g`` the gradient of the task loss alone (the cross-entropy, not the penalty, as in
    the official code) and ``Delta theta`` the change the optimizer made. At the task end
    ``Omega_k += omega_k / (Delta_k^2 + xi)`` with ``Delta_k`` the change of weight ``k`` over
    the task (Eq. 5), ``omega`` is reset and the anchor moves to the current weights; the
    loss gains ``c * sum_k Omega_k (theta_k - theta*_k)^2`` (Eq. 4; ``c`` = ``lambda_``).
    The gradient ``g`` costs one extra backward pass per step.
    """

    def __init__(self, lambda_: float = 1.0, xi: float = 0.1):
        super().__init__(lambda_)
        self.xi = float(xi)
        self.omega: dict[str, torch.Tensor] = {}
        self.start: dict[str, torch.Tensor] = {}
        self._grads: dict[str, torch.Tensor] | None = None
        self._before: dict[str, torch.Tensor] | None = None

    def before_task(self, model, task):
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self.omega = {n: torch.zeros_like(p, device="cpu") for n, p in named}
        self.start = {n: p.detach().cpu().clone() for n, p in named}

    def loss(self, model, inputs, labels):
        losses = super().loss(model, inputs, labels)
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        grads = torch.autograd.grad(losses["loss_cls"], [p for _, p in named],
                                    retain_graph=True, allow_unused=True)
        self._grads = {n: (g if g is not None else torch.zeros_like(p)).detach().cpu()
                       for (n, p), g in zip(named, grads)}
        self._before = {n: p.detach().cpu().clone() for n, p in named}
        return losses

    def after_iter(self, model, inputs, labels):
        if self._grads is None:
            return
        for name, p in model.named_parameters():
            if name in self._grads:
                step = p.detach().cpu() - self._before[name]
                self.omega[name] -= self._grads[name] * step
        self._grads = self._before = None

    def after_task(self, model, task):
        new = {}
        for name, p in model.named_parameters():
            if name in self.omega:
                delta = p.detach().cpu() - self.start[name]
                new[name] = self.omega[name] / (delta ** 2 + self.xi)
        self.add_importance(model, new)

    def state_dict(self):
        return {**super().state_dict(), "omega": self.omega, "start": self.start}

    def load_state_dict(self, state, model):
        super().load_state_dict(state, model)
        self.omega, self.start = dict(state["omega"]), dict(state["start"])


def output_norm_sensitivity(model: nn.Module, inputs: torch.Tensor, chunk: int = 64
                            ) -> dict[str, torch.Tensor]:
    """MAS importance ``Omega_k = 1/N sum_i |d ||f(x_i)||_2^2 / d theta_k|`` (Aljundi et al.
    2018, Eq. 2-4): per-sample gradients of the squared L2 norm of the output logits,
    absolute values averaged over the ``N`` samples (model in its current mode)."""
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    total = {n: torch.zeros_like(p) for n, p in model.named_parameters() if n in names}
    for i in range(0, len(inputs), chunk):
        grads = per_sample_grads(model, names, inputs[i:i + chunk], None, squared_norm_loss)
        for n in names:
            total[n] += grads[n].abs().sum(0)
    return {n: (t / len(inputs)).cpu() for n, t in total.items()}


@STRATEGIES.register_module()
class MAS(ImportancePenalty):
    """Memory aware synapses (Aljundi, Babiloni, Elhoseiny, Rohrbach & Tuytelaars, "Memory
    Aware Synapses: Learning what (not) to forget", ECCV 2018).

    At each task end the importance of every weight is the mean absolute gradient of the
    squared L2 norm of the network's output over the task's data
    (:func:`output_norm_sensitivity`, on at most ``max_samples`` seeded samples, eval mode;
    labels are not used), accumulated over tasks (``Omega += Omega_t``, Sec. 4); the loss gains
    ``lambda_ * sum_k Omega_k (theta_k - theta*_k)^2`` (Eq. 3).
    """

    def __init__(self, lambda_: float = 1.0, max_samples: int = 512):
        super().__init__(lambda_)
        self.max_samples = int(max_samples)

    def after_task(self, model, task):
        if task == self.scenario.num_tasks - 1:
            return
        inputs, _ = self.context.collect(self.context.task_dataset(task))
        if len(inputs) > self.max_samples:
            g = torch.Generator().manual_seed(self.context.seed + task)
            inputs = inputs[torch.randperm(len(inputs), generator=g)[:self.max_samples]]
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        new = output_norm_sensitivity(model, inputs.to(device))
        model.train(was_training)
        self.add_importance(model, new)
