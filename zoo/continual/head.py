"""Growing the classifier of a zoo classifier (``model.cls_head.fc``) as classes arrive."""
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


def classifier_of(model: nn.Module) -> nn.Linear:
    """``model.cls_head.fc`` with a clear error when the model has none."""
    head = getattr(model, "cls_head", None)
    fc = getattr(head, "fc", None)
    if not isinstance(fc, nn.Linear):
        raise TypeError(f"{type(model).__name__} has no cls_head.fc (nn.Linear); the continual "
                        "loop needs a zoo BaseClassifier")
    return fc


def set_num_classes(model: nn.Module, num_classes: int,
                    generator: torch.Generator | None = None) -> bool:
    """Resize ``model.cls_head.fc`` to ``num_classes`` outputs keeping the old rows.

    Returns ``True`` when the layer was replaced (the optimizer must then be rebuilt).
    """
    fc = classifier_of(model)
    if fc.out_features == num_classes:
        return False
    model.cls_head.fc = expand_linear(fc, num_classes, generator)
    if hasattr(model.cls_head, "num_classes"):
        model.cls_head.num_classes = num_classes
    return True
