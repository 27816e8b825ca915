"""Sign-gradient attacks on skeleton recognisers: FGSM, I-FGSM, PGD, MI-FGSM, SMI-FGSM.

* FGSM (Goodfellow et al., ICLR 2015): one step of size ``eps`` along ``sign(grad)``.
* I-FGSM / BIM (Kurakin et al., 2017): ``steps`` steps of ``alpha`` with projection.
* PGD (Madry et al., ICLR 2018): I-FGSM from a uniform random start in the ball.
* MI-FGSM (Dong et al., CVPR 2018): accumulates ``g = mu g + grad / mean|grad|``.
* SMI-FGSM (Lu et al., ICCV 2023): MI-FGSM on the skeleton-motion-informed gradient
  (:mod:`zoo.attacks.smi`); the official S2MI-FGSM.

Every attack perturbs joint coordinates (the ``[N, clips, M, T, V, C]`` input of
:class:`~zoo.models.classifiers.SkeletonRecognizer`) inside an l-inf ball of radius ``eps`` and
can keep bone lengths and bound the change of joint acceleration
(:class:`~zoo.attacks.constraints.SkeletonConstraints`, applied after every step).

The loss is the model's cross-entropy (white-box, or transfer when ``model`` is a surrogate)
or, with ``manifold``, the no-box loss on the attacker's motion manifold
(:class:`~zoo.attacks.manifold.ManifoldLoss`); then ``model`` and ``labels`` are not used.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from zoo.attacks.constraints import SkeletonConstraints
from zoo.attacks.manifold import ManifoldLoss, load_manifold
from zoo.attacks.smi import l1_normalise, motion_coefficients, smi_gradient
from zoo.registry import ATTACKS


def model_logits(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """Logits of a zoo classifier (``.logits``) or of any module returning them."""
    return model.logits(inputs) if hasattr(model, "logits") else model(inputs)


class GradientAttack:
    """Iterative sign-gradient attack (see the module docstring for the variants).

    Args:
        eps: l-inf budget on joint coordinates (input units).
        steps: number of gradient steps.
        alpha: step size; default ``eps / steps``.
        momentum: MI-FGSM decay ``mu`` (0 = no momentum, no gradient normalisation).
        random_start: start from a uniform point of the l-inf ball (PGD).
        gradient: ``'plain'`` or ``'smi'`` (skeleton-motion-informed, TV-AR(2) fitted on the
            clean input).
        layout: skeleton layout name (needed by ``keep_bones``).
        keep_bones: restore the original bone lengths after every step.
        max_accel: bound on the per-joint change of acceleration (None = unbounded).
        manifold: a :class:`ManifoldLoss` or the path of a saved manifold (no-box attack).
        tvar_bandwidth: kernel bandwidth (fraction of the clip) of the TV-AR fit.
        seed: seed of the random start.
    """

    def __init__(self, eps: float = 0.02, steps: int = 10, alpha: float | None = None,
                 momentum: float = 0.0, random_start: bool = False, gradient: str = "plain",
                 layout: str | None = None, keep_bones: bool = False,
                 max_accel: float | None = None, manifold: ManifoldLoss | str | None = None,
                 tvar_bandwidth: float = 0.3, seed: int = 0):
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        if gradient not in ("plain", "smi"):
            raise ValueError(f"gradient must be 'plain' or 'smi', got {gradient!r}")
        self.constraints = SkeletonConstraints(eps, layout, keep_bones, max_accel)
        self.eps, self.steps = eps, steps
        self.alpha = eps / steps if alpha is None else alpha
        self.momentum, self.random_start = momentum, random_start
        self.gradient, self.tvar_bandwidth, self.seed = gradient, tvar_bandwidth, seed
        self.manifold = load_manifold(manifold) if isinstance(manifold, str) else manifold

    @property
    def name(self) -> str:
        return type(self).__name__

    def loss(self, model: nn.Module | None, x_adv: torch.Tensor, x_clean: torch.Tensor,
             labels: torch.Tensor | None) -> torch.Tensor:
        """The loss the attack ascends."""
        if self.manifold is not None:
            return self.manifold(x_adv, x_clean)
        if model is None or labels is None:
            raise ValueError(f"{self.name} without a manifold needs the model and the labels")
        return F.cross_entropy(model_logits(model, x_adv), labels)

    def direction(self, grad: torch.Tensor, coeffs, state: dict) -> torch.Tensor:
        """Update direction (before ``sign``) from the raw gradient."""
        if self.momentum > 0 or self.gradient == "smi":
            grad = l1_normalise(grad)
        if self.gradient == "smi":
            grad = smi_gradient(grad, *coeffs)
        if self.momentum > 0:
            state["g"] = self.momentum * state.get("g", torch.zeros_like(grad)) + grad
            grad = state["g"]
        return grad

    def __call__(self, model: nn.Module | None, inputs: torch.Tensor,
                 labels: torch.Tensor | None = None) -> torch.Tensor:
        """Adversarial version of ``inputs`` (same shape); ``model`` is put in eval mode."""
        if not torch.is_tensor(inputs) or inputs.dim() < 4:
            raise ValueError(f"{self.name}: inputs must be a [N, ..., T, V, C] tensor")
        if model is not None:
            model.eval()
        x_clean = inputs.detach().float()
        coeffs = motion_coefficients(x_clean, self.tvar_bandwidth) \
            if self.gradient == "smi" else None
        x = x_clean.clone()
        if self.random_start:
            gen = torch.Generator(device=x.device).manual_seed(self.seed)
            noise = torch.rand(x.shape, generator=gen, device=x.device) * 2 - 1
            x = self.constraints(x + self.eps * noise, x_clean)
        state: dict = {}
        for _ in range(self.steps):
            x.requires_grad_(True)
            loss = self.loss(model, x, x_clean, labels)
            (grad,) = torch.autograd.grad(loss, x)
            with torch.no_grad():
                step = self.direction(grad, coeffs, state).sign()
                x = self.constraints(x.detach() + self.alpha * step, x_clean)
        return x.detach()

    attack = __call__


@ATTACKS.register_module()
class FGSM(GradientAttack):
    """Fast gradient sign method (Goodfellow et al., ICLR 2015): one step of size ``eps``."""

    def __init__(self, eps: float = 0.02, **kwargs):
        kwargs.setdefault("steps", 1)
        kwargs.setdefault("alpha", eps)
        super().__init__(eps=eps, **kwargs)


@ATTACKS.register_module()
class IFGSM(GradientAttack):
    """Iterative FGSM / BIM (Kurakin et al., ICLR-W 2017): ``steps`` steps of ``eps/steps``."""


@ATTACKS.register_module()
class PGD(GradientAttack):
    """Projected gradient descent (Madry et al., ICLR 2018): random start, step
    ``2.5 eps / steps``."""

    def __init__(self, eps: float = 0.02, steps: int = 10, **kwargs):
        kwargs.setdefault("alpha", 2.5 * eps / steps)
        kwargs.setdefault("random_start", True)
        super().__init__(eps=eps, steps=steps, **kwargs)


@ATTACKS.register_module()
class MIFGSM(GradientAttack):
    """Momentum iterative FGSM (Dong et al., CVPR 2018), decay ``mu = 1``."""

    def __init__(self, eps: float = 0.02, **kwargs):
        kwargs.setdefault("momentum", 1.0)
        super().__init__(eps=eps, **kwargs)


@ATTACKS.register_module()
class SMIFGSM(GradientAttack):
    """MI-FGSM on the skeleton-motion-informed gradient (Lu et al., ICCV 2023, S2MI-FGSM)."""

    def __init__(self, eps: float = 0.02, **kwargs):
        kwargs.setdefault("momentum", 1.0)
        kwargs.setdefault("gradient", "smi")
        super().__init__(eps=eps, **kwargs)


@ATTACKS.register_module()
class RandomSign(GradientAttack):
    """Control, not an attack: ``eps`` times a random sign per coordinate, then the same
    skeleton constraints. An attack is only meaningful where it beats this noise of equal
    budget; it needs neither a model nor labels."""

    def __init__(self, eps: float = 0.02, **kwargs):
        kwargs.setdefault("steps", 1)
        super().__init__(eps=eps, **kwargs)

    def __call__(self, model: nn.Module | None, inputs: torch.Tensor,
                 labels: torch.Tensor | None = None) -> torch.Tensor:
        if not torch.is_tensor(inputs) or inputs.dim() < 4:
            raise ValueError(f"{self.name}: inputs must be a [N, ..., T, V, C] tensor")
        x_clean = inputs.detach().float()
        gen = torch.Generator(device=x_clean.device).manual_seed(self.seed)
        signs = torch.randint(0, 2, x_clean.shape, generator=gen, device=x_clean.device) * 2 - 1
        return self.constraints(x_clean + self.eps * signs, x_clean).detach()

    attack = __call__
