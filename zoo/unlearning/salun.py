"""SalUn: weight saliency from the forget loss, then random-label fine-tuning of salient
weights only."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from zoo.registry import UNLEARNERS
from zoo.unlearning.random_label import RandomLabel


def forget_gradient(model: nn.Module, params: list[nn.Parameter], batches) -> list[torch.Tensor]:
    """Sum over forget batches of the gradient of the batch-mean cross-entropy (model in eval
    mode, weights unchanged)."""
    was_training = model.training
    model.eval()
    total = [torch.zeros_like(p) for p in params]
    for inputs, labels in batches:
        grads = torch.autograd.grad(F.cross_entropy(model.logits(inputs), labels), params,
                                    allow_unused=True)
        total = [t if g is None else t + g for t, g in zip(total, grads)]
    model.train(was_training)
    return total


def saliency_masks(grads: list[torch.Tensor], ratio: float | None = 0.5,
                   threshold: float | None = None) -> list[torch.Tensor]:
    """SalUn's mask ``m = 1(|g| >= gamma)`` over all parameters together: ``gamma`` is
    ``threshold`` when given, otherwise chosen so that the largest ``ratio`` share of
    ``|g|`` is selected (``ratio=0.5``: gamma is the median, the paper's default)."""
    mags = [g.abs() for g in grads]
    if threshold is None:
        if ratio is None or not 0 < ratio <= 1:
            raise ValueError(f"SalUn ratio must be in (0, 1], got {ratio}")
        flat = torch.cat([m.flatten() for m in mags])
        k = max(1, int(round(ratio * flat.numel())))
        threshold = float(torch.topk(flat, k).values[-1])
    return [(m >= threshold).to(m.dtype) for m in mags]


@UNLEARNERS.register_module()
class SalUn(RandomLabel):
    """SalUn (Fan et al., "SalUn: Empowering Machine Unlearning via Gradient-based Weight
    Saliency", ICLR 2024).

    Before the update, the gradient of the forget loss at the trained weights,
    ``g = sum over forget batches of grad CE(forget)``, gives the saliency mask
    ``m = 1(|g| >= gamma)`` (``gamma`` the median of ``|g|`` over all parameters by default,
    i.e. half the weights are salient; the paper's eq. 6). Then random-label unlearning runs
    (forget samples with random labels plus the retain CE, :class:`RandomLabel`) with every
    update multiplied by ``m``: salient weights move, the others stay exactly at their
    trained values (they are also restored after each step, so momentum and weight decay
    cannot move them, as in the official code).

    Args:
        ratio: share of weights selected (ignored when ``threshold`` is given).
        threshold: explicit ``gamma`` on ``|g|``.
        exclude_forgotten: see :class:`RandomLabel` (the official code draws any class; with
            class forgetting the default here draws among the kept classes).
    """

    def __init__(self, epochs: int = 2, lr: float = 0.01, ratio: float | None = 0.5,
                 threshold: float | None = None, **kwargs):
        super().__init__(epochs=epochs, lr=lr, **kwargs)
        self.ratio, self.threshold = ratio, threshold
        self.selected_fraction = 0.0
        self._masks: list[torch.Tensor] = []
        self._frozen: list[torch.Tensor] = []
        self._params: list[nn.Parameter] = []

    def setup(self, model, ctx):
        super().setup(model, ctx)
        self._params = self.trainable(model)
        grads = forget_gradient(model, self._params,
                                ctx.loader("forget", model, shuffle=False,
                                           batch_size=self.batch_size, training=False))
        self._masks = saliency_masks(grads, self.ratio, self.threshold)
        self._frozen = [p.detach().clone() for p in self._params]
        selected = sum(float(m.sum()) for m in self._masks)
        self.selected_fraction = selected / sum(m.numel() for m in self._masks)

    def edit_gradients(self, params):
        for p, m in zip(params, self._masks):
            if p.grad is not None:
                p.grad.mul_(m)

    @torch.no_grad()
    def after_step(self, model):
        for p, m, p0 in zip(self._params, self._masks, self._frozen):
            p.copy_(m * p + (1 - m) * p0)

    def unlearn(self, model, ctx):
        super().unlearn(model, ctx)
        self._masks, self._frozen, self._params = [], [], []
        return model

    def config(self) -> dict:
        return dict(epochs=self.epochs, lr=self.lr, ratio=self.ratio, threshold=self.threshold,
                    exclude_forgotten=self.exclude_forgotten,
                    selected_fraction=round(self.selected_fraction, 4))
