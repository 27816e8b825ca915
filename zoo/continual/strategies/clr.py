"""CLR: channel-wise lightweight reprogramming of a frozen CNN."""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from zoo.registry import STRATEGIES

from ..head import classifier_of
from .base import Strategy


def _reprogram_kernel(conv: nn.Conv2d, max_kernel: int) -> tuple[int, int]:
    """Odd kernel no larger than the conv's own (a 1x1 conv gets a 1x1, i.e. a per-channel
    scale: the official ``reduced_v2`` variant; a (9, 1) temporal conv gets (3, 1))."""
    def odd(k):
        k = min(k, max_kernel)
        return k if k % 2 else k - 1
    return odd(conv.kernel_size[0]), odd(conv.kernel_size[1])


class CLRConv(nn.Module):
    """A frozen (anchor) ``nn.Conv2d`` followed by the active task's depth-wise convolution,
    initialised to the identity (Dirac) so a new task starts from the anchor's function."""

    def __init__(self, conv: nn.Conv2d, max_kernel: int = 3):
        super().__init__()
        self.conv = conv
        for p in self.conv.parameters():
            p.requires_grad_(False)
        self.kernel = _reprogram_kernel(conv, max_kernel)
        self.reprogram = nn.ModuleList()
        self.active = 0

    def add_task(self) -> None:
        c = self.conv.out_channels
        layer = nn.Conv2d(c, c, self.kernel, padding=(self.kernel[0] // 2, self.kernel[1] // 2),
                          groups=c, bias=False).to(self.conv.weight.device)
        nn.init.dirac_(layer.weight, groups=c)
        self.reprogram.append(layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.reprogram[self.active](self.conv(x))


class TaskNorm(nn.Module):
    """One copy of a batch-norm layer per task; the active task's copy is used."""

    def __init__(self, norm: _BatchNorm):
        super().__init__()
        self.norms = nn.ModuleList([norm])
        self.active = 0

    def add_task(self) -> None:
        self.norms.append(copy.deepcopy(self.norms[0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norms[self.active](x)


def _wrap(module: nn.Module, max_kernel: int) -> None:
    for name, child in module.named_children():
        if isinstance(child, nn.Conv2d):
            setattr(module, name, CLRConv(child, max_kernel))
        elif isinstance(child, _BatchNorm):
            setattr(module, name, TaskNorm(child))
        elif not isinstance(child, (CLRConv, TaskNorm)):
            _wrap(child, max_kernel)


@STRATEGIES.register_module()
class CLR(Strategy):
    """Channel-wise Lightweight Reprogramming (Ge, Li, Ni, Zhao, Yang & Itti, "CLR:
    Channel-wise Lightweight Reprogramming for Continual Learning", ICCV 2023; official code
    gyhandy/Channel-wise-Lightweight-Reprogramming, ``network/ReGhos_Block.py``).

    An immutable anchor CNN is reprogrammed for each task: every ``nn.Conv2d`` of the backbone
    is followed by a task-specific depth-wise convolution (3x3, identity-initialised, no bias)
    and every batch-norm layer gets a task-specific copy; each task has its own classifier
    rows. Only these task-specific parameters train, so earlier tasks cannot be forgotten when
    their task is known (task-aware accuracy). The anchor is the model trained on the first
    task (``train_anchor=True``; the paper uses an ImageNet-pretrained backbone, which the
    zoo gives with ``load_from`` and ``train_anchor=False``).

    Class-incremental prediction needs the task: each task's path scores its own classes with
    a softmax and the class of highest probability wins (maximum-confidence task inference,
    not part of the paper, which evaluates task-aware). Old classifier rows are restored after
    every step so weight decay or momentum cannot move them.
    """

    family = "parameter isolation"

    def __init__(self, train_anchor: bool = True, max_kernel: int = 3):
        super().__init__()
        self.train_anchor, self.max_kernel = train_anchor, max_kernel
        self.num_paths = 0  # tasks with a reprogramming path in the model
        self._old_rows = None

    def wrappers(self, model) -> list[nn.Module]:
        return [m for m in model.backbone.modules() if isinstance(m, (CLRConv, TaskNorm))]

    def set_active(self, model, task: int) -> None:
        for m in self.wrappers(model):
            m.active = task

    def _install(self, model, paths: int) -> None:
        """Wrap the backbone (anchor frozen) and give it ``paths`` task paths."""
        if self.num_paths == 0:
            _wrap(model.backbone, self.max_kernel)
            for m in self.wrappers(model):
                if isinstance(m, CLRConv):
                    m.add_task()
            self.num_paths = 1
        while self.num_paths < paths:
            for m in self.wrappers(model):
                m.add_task()
            self.num_paths += 1

    def _freeze(self, model, task: int) -> None:
        for p in model.backbone.parameters():
            p.requires_grad_(False)
        for m in self.wrappers(model):
            live = m.reprogram[task] if isinstance(m, CLRConv) else m.norms[task]
            for p in live.parameters():
                p.requires_grad_(True)

    def prepare_model(self, model, task):
        if task == 0 and self.train_anchor:
            return  # the whole network learns the first task and becomes the anchor
        self._install(model, task + 1)
        self.set_active(model, task)
        self._freeze(model, task)

    def before_task(self, model, task):
        start, _ = self.scenario.incremental_range(task)
        fc = classifier_of(model)
        self._old_rows = (fc.weight[:start].detach().clone(),
                          None if fc.bias is None else fc.bias[:start].detach().clone())

    def loss(self, model, inputs, labels):
        start, stop = self.scenario.incremental_range(self.task)
        logits = model.logits(inputs)[:, start:stop]
        return {"loss_cls": F.cross_entropy(logits, labels - start)}

    def after_iter(self, model, inputs, labels):
        weight, bias = self._old_rows
        fc = classifier_of(model)
        with torch.no_grad():
            fc.weight[:len(weight)].copy_(weight)
            if bias is not None:
                fc.bias[:len(bias)].copy_(bias)

    @torch.no_grad()
    def predict(self, model, inputs):
        scores = []
        for task in range(self.task + 1):
            if self.num_paths:
                self.set_active(model, task)
            start, stop = self.scenario.incremental_range(task)
            scores.append(model.logits(inputs)[:, start:stop].softmax(1))
        if self.num_paths:
            self.set_active(model, self.task)
        return torch.cat(scores, dim=1)

    def state_dict(self):
        return {"num_paths": self.num_paths}

    def load_state_dict(self, state, model):
        paths = int(state["num_paths"])
        if paths:
            self._install(model, paths)
            self.set_active(model, self.task)
