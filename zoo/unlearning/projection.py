"""Geometric-disentanglement projection of forget updates (a plug-in for gradient unlearners).

Zhou et al., "Geometric-Disentanglement Unlearning", arXiv:2511.17100 (2025): to first order
the retain loss is unchanged by an update ``d`` iff ``d`` is orthogonal to the subspace spanned
by retain gradients; GU splits a forget update into its component tangential to that subspace
and its normal component and executes only the normal one. Here the subspace is spanned by the
gradients of ``num_batches`` retain mini-batches (refreshed every ``refresh_every`` steps), an
orthonormal basis ``Q`` comes from a QR decomposition, and ``g -> g - Q Q^T g``. This is the
Euclidean version; the paper also gives a variant in the optimizer's (Adam-whitened) metric,
which is not implemented.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch


def flatten(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def unflatten(vector: torch.Tensor, like: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    out, start = [], 0
    for t in like:
        out.append(vector[start:start + t.numel()].view_as(t))
        start += t.numel()
    return out


def orthonormal_basis(vectors: torch.Tensor, rtol: float = 1e-6) -> torch.Tensor:
    """Orthonormal basis ``[P, r]`` of the span of the rows of ``vectors`` ``[k, P]``."""
    if vectors.dim() != 2:
        raise ValueError(f"expected a [k, P] matrix of gradients, got {tuple(vectors.shape)}")
    q, r = torch.linalg.qr(vectors.T.double(), mode="reduced")
    diag = r.diagonal().abs()
    keep = diag > rtol * diag.max().clamp_min(1e-30)
    return q[:, keep]


def project_out(g: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Component of ``g`` orthogonal to the columns of ``basis`` (orthonormal)."""
    if basis.numel() == 0:
        return g
    gd = g.double()
    return (gd - basis @ (basis.T @ gd)).to(g.dtype)


class RetainGradientProjector:
    """Keeps a basis of retain-gradient directions and removes them from forget updates.

    Args:
        num_batches: retain mini-batches whose gradients span the subspace.
        refresh_every: recompute the subspace every this many projected steps.
    """

    def __init__(self, num_batches: int = 5, refresh_every: int = 5):
        if num_batches < 1 or refresh_every < 1:
            raise ValueError("num_batches and refresh_every must be >= 1")
        self.num_batches, self.refresh_every = num_batches, refresh_every
        self.basis: torch.Tensor | None = None
        self.retain_grads: torch.Tensor | None = None
        self._steps = 0

    def refresh(self, params: Sequence[torch.Tensor],
                retain_loss: Callable[[], torch.Tensor]) -> None:
        """Recompute the basis from ``num_batches`` calls of ``retain_loss``."""
        grads = []
        for _ in range(self.num_batches):
            g = torch.autograd.grad(retain_loss(), params, allow_unused=True)
            grads.append(flatten([torch.zeros_like(p) if gi is None else gi
                                  for gi, p in zip(g, params)]).detach())
        self.retain_grads = torch.stack(grads)
        self.basis = orthonormal_basis(self.retain_grads)

    def project(self, grads: Sequence[torch.Tensor], params: Sequence[torch.Tensor],
                retain_loss: Callable[[], torch.Tensor]) -> list[torch.Tensor]:
        """Forget gradients ``grads`` (one per param) without their retain-subspace part."""
        if self.basis is None or self._steps % self.refresh_every == 0:
            self.refresh(params, retain_loss)
        self._steps += 1
        return unflatten(project_out(flatten(grads), self.basis), params)


def build_projector(cfg: dict | bool | None) -> RetainGradientProjector | None:
    """``None``/``False`` -> no projection; ``True`` -> defaults; a dict -> its arguments."""
    if not cfg:
        return None
    return RetainGradientProjector(**({} if cfg is True else dict(cfg)))
