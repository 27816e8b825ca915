"""Strategies for multiple-instance (whole-slide) models: fine-tuning with the model's own
loss, experience replay of whole bags with it, and CoMEL's OWLoRA (orthogonal weighted
low-rank adaptation).

All call the MIL model's full training loss (``BaseMIL.loss_from_labels``: bag
cross-entropy plus the model's extra terms, e.g. CoMEL's BPPL instance pseudo-label loss and,
with OWLoRA, the orthogonality penalty), where the generic strategies use the bag
cross-entropy only. All keep the classifier rows of earlier tasks' classes fixed by default
(``freeze_old_classes``): the CoMEL code appends a new 2-way head per task and freezes the
earlier heads for every method (``update_model`` of its continual trainers).
"""
from __future__ import annotations

import torch
from torch import nn

from zoo.registry import STRATEGIES

from ..buffers import ReservoirBuffer
from ..head import classifier_of
from .base import Strategy
from .replay import ER


def model_losses(model: nn.Module, inputs, labels: torch.Tensor) -> dict:
    """``model.loss_from_labels`` (MIL models) with a clear error for other models."""
    if not hasattr(model, "loss_from_labels"):
        raise TypeError(f"{type(model).__name__} has no loss_from_labels(inputs, labels); the "
                        "MIL strategies need a zoo.models.mil model (ABMIL, CoMEL)")
    return model.loss_from_labels(inputs, labels)


class OldClassRows:
    """Keeps the classifier rows of the classes of earlier tasks fixed: :meth:`capture` at the
    start of a task, :meth:`restore` after every optimiser step (weight decay and momentum
    would otherwise still move rows whose gradient is zero)."""

    def __init__(self):
        self.rows: tuple[torch.Tensor, torch.Tensor | None] | None = None

    def capture(self, model: nn.Module, start: int) -> None:
        fc = classifier_of(model)
        self.rows = None if start == 0 else (
            fc.weight.detach()[:start].clone(),
            None if fc.bias is None else fc.bias.detach()[:start].clone())

    @torch.no_grad()
    def restore(self, model: nn.Module) -> None:
        if self.rows is None:
            return
        fc = classifier_of(model)
        weight, bias = self.rows
        fc.weight[:len(weight)] = weight
        if bias is not None:
            fc.bias[:len(bias)] = bias


@STRATEGIES.register_module()
class MILFineTune(Strategy):
    """Fine-tuning (the lower bound) with the MIL model's own loss, e.g. CoMEL's bag
    cross-entropy + BPPL ("CDATMIL_PPL_FT" in the CoMEL code; ABMIL's is the bag
    cross-entropy, "ABMIL_FT"). The whole model keeps training; with ``freeze_old_classes``
    (default, as the CoMEL code) the rows of earlier tasks' classes in the grown classifier
    stay fixed, ``False`` trains them too."""

    def __init__(self, freeze_old_classes: bool = True):
        super().__init__()
        self.freeze_old_classes = freeze_old_classes
        self._old = OldClassRows()

    def before_task(self, model, task):
        start = self.scenario.incremental_range(task)[0] if self.freeze_old_classes else 0
        self._old.capture(model, start)

    def loss(self, model, inputs, labels):
        return model_losses(model, inputs, labels)

    def after_iter(self, model, inputs, labels):
        self._old.restore(model)


@STRATEGIES.register_module()
class MILReplay(ER):
    """Experience replay of whole slide bags with the MIL model's own loss ("CDATMIL_PPL_ER"
    of the CoMEL code: a reservoir memory of bags, 30 there; each step one stored bag is
    replayed beside the current one and both go through the model's loss, BPPL included).

    The reservoir sees every training bag of every epoch, as upstream (``buffer.add_data``
    after each step). ``freeze_old_classes`` as :class:`MILFineTune`. ``herding`` buffers
    are refused (bags have no fixed-size embedding to herd on).
    """

    def __init__(self, buffer: dict | None = None, replay_batch_size: int | None = None,
                 freeze_old_classes: bool = True):
        super().__init__(buffer or dict(type="reservoir", size=30), replay_batch_size)
        if not isinstance(self.buffer, ReservoirBuffer):
            raise ValueError("MILReplay needs buffer=dict(type='reservoir', size=N); herding "
                             "selects exemplars on fixed-size inputs, not slide bags")
        self.freeze_old_classes = freeze_old_classes
        self._old = OldClassRows()

    def before_task(self, model, task):
        super().before_task(model, task)
        start = self.scenario.incremental_range(task)[0] if self.freeze_old_classes else 0
        self._old.capture(model, start)

    def loss(self, model, inputs, labels):
        mem = self.replay_batch(inputs[0].device if isinstance(inputs, (list, tuple))
                                else inputs.device)
        if mem is not None:
            inputs = list(inputs) + list(mem["inputs"])
            labels = torch.cat([labels, mem["labels"]])
        return model_losses(model, inputs, labels)

    def after_iter(self, model, inputs, labels):
        super().after_iter(model, inputs, labels)
        self._old.restore(model)


@STRATEGIES.register_module()
class OWLoRA(MILFineTune):
    """OWLoRA continual learning of CoMEL (arXiv 2507.02395, Sec. "OWLoRA"; code
    ``cdatmil_ppl_owlora_trainer.py`` of github.com/Hyun1A/CoMEL).

    Task 0 trains the whole model. From task 1 on, :meth:`CoMEL.start_task` freezes the base
    weights and every earlier adapter and adds one weighted LoRA per adapted Linear; only the
    new adapters and the classifier train. Every step the new adapters' gradients are
    projected away from the earlier adapters' row/column spaces (tensor hooks, run inside
    ``backward``) and, after the optimiser step, their weights are re-projected
    (:meth:`OWLoRALinear.project_weights`; Adam does not keep a projected gradient's update
    projected). The model's loss adds the orthogonality penalty (``lambda_ortho``).

    ``freeze_old_classes`` (default, as the CoMEL code, which appends a new 2-way head per
    task and freezes the earlier heads): rows of the classes of earlier tasks are restored
    after every step, so only the new task's rows of the grown classifier change.
    Needs ``CoMEL(owlora=True)``.
    """

    def __init__(self, freeze_old_classes: bool = True):
        super().__init__(freeze_old_classes)
        self._hooks: list = []

    @staticmethod
    def _check(model) -> None:
        if not getattr(model, "owlora_layers", None) or not hasattr(model, "start_task"):
            raise TypeError(f"OWLoRA needs a model with OWLoRA layers and start_task(k) "
                            f"(CoMEL with owlora=True), got {type(model).__name__}")

    def prepare_model(self, model, task):
        self._check(model)
        model.start_task(task)

    def before_task(self, model, task):
        for handle in self._hooks:
            handle.remove()
        self._hooks = []
        if task > 0:
            for m in model._owlora_modules():
                q_in, q_out = m._old_bases()
                new = m.adapters[-1]
                if q_in is not None:
                    self._hooks.append(new.down.register_hook(
                        lambda g, q=q_in: g - (g @ q) @ q.T))
                if q_out is not None:
                    self._hooks.append(new.up.register_hook(
                        lambda g, q=q_out: g - q @ (q.T @ g)))
        super().before_task(model, task)

    @torch.no_grad()
    def after_iter(self, model, inputs, labels):
        if model.task > 0:
            for m in model._owlora_modules():
                m.project_weights()
        self._old.restore(model)

    def after_task(self, model, task):
        for handle in self._hooks:
            handle.remove()
        self._hooks = []

    def state_dict(self):
        return {"task": torch.tensor(self.task)}

    def load_state_dict(self, state, model):
        """Rebuild the adapters of the tasks done (runs before the weights are loaded)."""
        self._check(model)
        model.start_task(int(state["task"]))
