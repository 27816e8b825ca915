"""GS-LoRA: group-sparse low-rank adapters for (continual) forgetting."""
from __future__ import annotations

import math
import re

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from zoo.registry import UNLEARNERS
from zoo.unlearning.base import GradientUnlearner, ce


class LoRADelta(nn.Module):
    """Parametrisation ``W -> W + scale * reshape(B @ A)`` of a Linear / Conv weight.

    ``A`` is ``[r, fan_in]`` (Kaiming-uniform), ``B`` is ``[out, r]`` (zeros), so the adapted
    layer starts equal to the base layer; the base weight is not trained.
    """

    def __init__(self, weight: torch.Tensor, rank: int, scale: float = 1.0):
        super().__init__()
        out, fan_in = weight.shape[0], weight[0].numel()
        self.rank, self.scale = rank, scale
        self.lora_A = nn.Parameter(torch.empty(rank, fan_in, dtype=weight.dtype))
        self.lora_B = nn.Parameter(torch.zeros(out, rank, dtype=weight.dtype))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))

    def delta(self, shape) -> torch.Tensor:
        return (self.scale * (self.lora_B @ self.lora_A)).reshape(shape)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight + self.delta(weight.shape)


def add_lora(model: nn.Module, target: str, rank: int, scale: float = 1.0) -> list[str]:
    """Attach a :class:`LoRADelta` to the weight of every Conv/Linear module whose name
    matches the regex ``target``; freeze every other parameter. Returns the module names."""
    names = []
    for p in model.parameters():
        p.requires_grad_(False)
    for name, module in list(model.named_modules()):
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)) \
                and re.search(target, name) and not parametrize.is_parametrized(module):
            parametrize.register_parametrization(
                module, "weight", LoRADelta(module.weight, rank, scale))
            names.append(name)
    if not names:
        raise ValueError(f"GS-LoRA: no Conv/Linear module matches target {target!r}")
    return names


def lora_groups(model: nn.Module) -> dict[str, list[nn.Parameter]]:
    """One group (``[A, B]``) per adapted module."""
    groups = {}
    for name, module in model.named_modules():
        if parametrize.is_parametrized(module, "weight"):
            for p in module.parametrizations.weight:
                if isinstance(p, LoRADelta):
                    groups[name] = [p.lora_A, p.lora_B]
    return groups


def group_norms(groups: dict[str, list[torch.Tensor]]) -> dict[str, float]:
    return {k: float(torch.sqrt(sum((p.detach() ** 2).sum() for p in ps)))
            for k, ps in groups.items()}


@torch.no_grad()
def group_soft_threshold(groups: dict[str, list[torch.Tensor]], threshold: float) -> None:
    """Proximal operator of ``threshold * sum_g ||g||_2``: each group is scaled by
    ``max(0, 1 - threshold / ||g||)``, so groups with norm below ``threshold`` become 0."""
    for ps in groups.values():
        norm = torch.sqrt(sum((p ** 2).sum() for p in ps))
        factor = torch.clamp(1 - threshold / norm.clamp_min(1e-30), min=0.0)
        for p in ps:
            p.mul_(factor)


def merge_lora(model: nn.Module) -> None:
    """Fold every adapter into its weight (plain state-dict keys again)."""
    for module in list(model.modules()):
        if parametrize.is_parametrized(module, "weight"):
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
    for p in model.parameters():
        p.requires_grad_(True)


@UNLEARNERS.register_module()
class GSLoRA(GradientUnlearner):
    """GS-LoRA (Zhao et al., "Continual Forgetting for Pre-trained Vision Models", CVPR 2024).

    For each forget request new LoRA adapters are attached to the feed-forward / conv layers
    (``target``, a regex on module names; default: every conv / linear layer of the
    backbone) while all base weights stay frozen. The loss is the retain cross-entropy plus
    ``beta * relu(bound - CE(forget))`` (the paper's bounded forgetting loss) plus
    ``alpha * sum_g ||g||_2`` over the adapter groups (group lasso, one group = one module's
    ``A`` and ``B``). The group lasso is applied as its proximal step after every optimiser
    step (scale each group by ``max(0, 1 - lr * alpha / ||g||)``), which zeros whole groups
    exactly instead of only shrinking them (the paper adds the penalty to the loss). The model
    runs in eval mode (BatchNorm statistics and dropout of the frozen model are untouched).
    After the request the adapters are merged into the weights (``merge=True``), so the next
    request of a sequence adapts the edited model and the checkpoint has the original keys.

    Args:
        rank: LoRA rank; scale: LoRA scale.
        alpha: group-lasso weight; beta: forgetting-loss weight; bound: BND of the paper.
    """

    def __init__(self, epochs: int = 3, lr: float = 0.05, rank: int = 4, scale: float = 1.0,
                 target: str = r"^backbone\.", alpha: float = 0.01, beta: float = 1.0,
                 bound: float = 5.0, merge: bool = True, **kwargs):
        super().__init__(epochs=epochs, lr=lr, **kwargs)
        self.rank, self.scale, self.target = rank, scale, target
        self.alpha, self.beta, self.bound, self.merge = alpha, beta, bound, merge
        self.zero_groups: list[int] = []
        self.num_groups = 0
        self._groups: dict = {}

    def train_mode(self) -> bool:
        return False

    def setup(self, model, ctx):
        add_lora(model, self.target, self.rank, self.scale)
        self._groups = lora_groups(model)
        self.num_groups = len(self._groups)

    def trainable(self, model):
        return [p for ps in self._groups.values() for p in ps]

    def forget_loss(self, model, inputs, labels):
        return self.beta * F.relu(self.bound - ce(model, inputs, labels))

    def after_step(self, model):
        group_soft_threshold(self._groups, self.lr * self.alpha)

    def unlearn(self, model, ctx):
        super().unlearn(model, ctx)
        norms = group_norms(self._groups)
        self.zero_groups.append(sum(v == 0 for v in norms.values()))
        self.group_norms = norms
        if self.merge:
            merge_lora(model)
            self._groups = {}
        return model

    def config(self) -> dict:
        cfg = {k: v for k, v in vars(self).items()
               if not k.startswith("_") and k != "group_norms"}
        return cfg
