"""Strategies for multiple-instance (whole-slide) models: fine-tuning with the model's own
loss, and CoMEL's OWLoRA (orthogonal weighted low-rank adaptation).

Both call the MIL model's full training loss (``BaseMIL.loss_from_labels``: bag
cross-entropy plus the model's extra terms, e.g. CoMEL's BPPL instance pseudo-label loss and,
with OWLoRA, the orthogonality penalty), where the generic strategies use the bag
cross-entropy only.
"""
from __future__ import annotations

import torch
from torch import nn

from zoo.registry import STRATEGIES

from ..head import classifier_of
from .base import Strategy


def model_losses(model: nn.Module, inputs, labels: torch.Tensor) -> dict:
    """``model.loss_from_labels`` (MIL models) with a clear error for other models."""
    if not hasattr(model, "loss_from_labels"):
        raise TypeError(f"{type(model).__name__} has no loss_from_labels(inputs, labels); the "
                        "MIL strategies need a zoo.models.mil model (ABMIL, CoMEL)")
    return model.loss_from_labels(inputs, labels)


@STRATEGIES.register_module()
class MILFineTune(Strategy):
    """Fine-tuning (the lower bound) with the MIL model's own loss, e.g. CoMEL's bag
    cross-entropy + BPPL ("CDATMIL_PPL_FT" in the CoMEL code). The whole model, including
    the rows of earlier classes in the grown classifier, keeps training."""

    def loss(self, model, inputs, labels):
        return model_losses(model, inputs, labels)


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
        super().__init__()
        self.freeze_old_classes = freeze_old_classes
        self._hooks: list = []
        self._old_rows: tuple[torch.Tensor, torch.Tensor | None] | None = None

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
        start = self.scenario.incremental_range(task)[0]
        fc = classifier_of(model)
        self._old_rows = None
        if self.freeze_old_classes and start > 0:
            self._old_rows = (fc.weight.detach()[:start].clone(),
                              None if fc.bias is None else fc.bias.detach()[:start].clone())

    @torch.no_grad()
    def after_iter(self, model, inputs, labels):
        if model.task > 0:
            for m in model._owlora_modules():
                m.project_weights()
        if self._old_rows is not None:
            fc = classifier_of(model)
            weight, bias = self._old_rows
            fc.weight[:len(weight)] = weight
            if bias is not None:
                fc.bias[:len(bias)] = bias

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
