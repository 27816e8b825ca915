"""Growing the classifier of a zoo classifier (``model.cls_head.fc``, or ``model.classifier``
of a MIL model) as classes arrive."""
from __future__ import annotations

import torch
from torch import nn


def expand_linear(fc: nn.Linear, num_classes: int, generator: torch.Generator | None = None
                  ) -> nn.Linear:
    """A new ``nn.Linear`` with ``num_classes`` outputs whose first rows copy ``fc``.

    Rows beyond ``fc.out_features`` get PyTorch's default ``nn.Linear`` initialisation
    (uniform in ``+-1/sqrt(in_features)``); with ``num_classes < fc.out_features`` the first
    ``num_classes`` rows are kept.
    """
    if num_classes <= 0:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    new = nn.Linear(fc.in_features, num_classes, bias=fc.bias is not None,
                    device=fc.weight.device, dtype=fc.weight.dtype)
    bound = 1.0 / fc.in_features ** 0.5
    with torch.no_grad():
        new.weight.uniform_(-bound, bound, generator=generator)
        if new.bias is not None:
            new.bias.uniform_(-bound, bound, generator=generator)
        keep = min(num_classes, fc.out_features)
        new.weight[:keep].copy_(fc.weight[:keep])
        if new.bias is not None:
            new.bias[:keep].copy_(fc.bias[:keep])
    new.weight.requires_grad_(fc.weight.requires_grad)
    if new.bias is not None:
        new.bias.requires_grad_(fc.bias.requires_grad)
    return new


def _classifier_slot(model: nn.Module) -> tuple[nn.Module, str]:
    """Owner module and attribute name of the classifier Linear: ``cls_head.fc`` (zoo
    ``BaseClassifier``) or, for models without a ``cls_head``, ``classifier`` (the MIL models
    of :mod:`zoo.models.mil`)."""
    head = getattr(model, "cls_head", None)
    if head is not None:
        if isinstance(getattr(head, "fc", None), nn.Linear):
            return head, "fc"
    elif isinstance(getattr(model, "classifier", None), nn.Linear):
        return model, "classifier"
    raise TypeError(f"{type(model).__name__} has no cls_head.fc (nn.Linear) nor a classifier "
                    "(nn.Linear); the continual loop needs a zoo BaseClassifier or a MIL model")


def classifier_of(model: nn.Module) -> nn.Linear:
    """``model.cls_head.fc`` (or a MIL model's ``model.classifier``) with a clear error when
    the model has none."""
    owner, name = _classifier_slot(model)
    return getattr(owner, name)


def set_num_classes(model: nn.Module, num_classes: int,
                    generator: torch.Generator | None = None) -> bool:
    """Resize the classifier (``model.cls_head.fc`` or ``model.classifier``) to
    ``num_classes`` outputs keeping the old rows.

    Returns ``True`` when the layer was replaced (the optimizer must then be rebuilt).
    """
    owner, name = _classifier_slot(model)
    fc = getattr(owner, name)
    if fc.out_features == num_classes:
        return False
    setattr(owner, name, expand_linear(fc, num_classes, generator))
    if owner is not model and hasattr(owner, "num_classes"):
        owner.num_classes = num_classes
    return True


def own_head_logits(logits: torch.Tensor, labels: torch.Tensor, scenario) -> torch.Tensor:
    """Multi-head scoring (task-incremental, task identity given): each sample keeps the logits
    of its own task's head (the rows ``scenario.incremental_range(t)`` of the classifier,
    ``t`` the task of its label) and the others become ``-inf``, so a softmax / cross-entropy
    runs over that head alone and no other head gets a gradient from the sample — the same
    loss as one separate linear head per task on a shared backbone."""
    task_of_class = torch.as_tensor(scenario.task_of_incremental_label(), device=logits.device)
    if logits.shape[1] != len(task_of_class):
        raise ValueError(f"multi-head scoring needs a logit for every class of the scenario "
                         f"({len(task_of_class)}), got {logits.shape[1]}")
    own = task_of_class[None, :] == task_of_class[labels.to(logits.device)][:, None]
    return logits.masked_fill(~own, float("-inf"))
