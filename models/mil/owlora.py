"""OWLoRA: orthogonal weighted low-rank adaptation for continual learning (CoMEL, 2025).

After the first task, every adapted ``nn.Linear`` keeps its base weight frozen and each new
task adds a *weighted* LoRA ``delta(x) = up(scales * down(x))`` (learnable per-rank scales).
New adapters are kept orthogonal to the earlier ones in two ways, following the CoMEL code
(Hyun1A/CoMEL, ``cdatmil_ppl_owlora_trainer.py``):

* the penalty ``(||D D^T - I||^2 + ||U^T U - I||^2) / r^2`` on the new adapter (rows of the
  down matrix ``D`` and columns of the up matrix ``U`` orthonormal);
* the gradients of ``D`` and ``U`` are projected away from the row space of every earlier
  ``D`` and the column space of every earlier ``U``.

Choices of this implementation (the paper/code leave them open or differ):

* Projection uses an orthonormal basis of the earlier subspaces (QR), so it is an exact
  projector; the upstream code multiplies by ``D_old^T D_old``, a projector only when the
  earlier rows are orthonormal.
* Adam rescales gradients element-wise, so a projected gradient does not give a projected
  update; :meth:`OWLoRALinear.project_weights` (called after every optimiser step by
  :class:`~zoo.models.mil.comel.CoMEL`) re-projects the new adapter's weights, so
  orthogonality to earlier adapters holds exactly. The new down matrix is also initialised in
  the orthogonal complement.
* The base-weight SVD truncation to 99% energy after task 0 is implemented (as upstream) but
  off by default (``truncate_energy=None``): upstream replaces the trained task-0 weight by its
  truncation, which changes the task-0 function; the upstream extra task-0 LoRA, never used in
  the forward pass, is not created.
"""
from __future__ import annotations

import torch
from torch import nn


class WeightedLoRA(nn.Module):
    """``up(scales * down(x))``; ``down [r, in]`` ~ U(+-1/sqrt(in)) (the CoMEL code's
    ``kaiming_uniform_(a=sqrt(5))`` of its LoRA down layer), ``up [out, r]`` = 0, scales 1.

    (An earlier version drew ``down`` from N(0, 1/r^2): rows of squared norm ``in / r^2``, so
    the orthogonality penalty started at hundreds for the demo sizes and swamped the task
    loss; the upstream initialisation gives rows of squared norm ~1/3.)"""

    def __init__(self, in_features: int, out_features: int, rank: int):
        super().__init__()
        bound = 1.0 / in_features ** 0.5
        self.down = nn.Parameter(torch.empty(rank, in_features).uniform_(-bound, bound))
        self.up = nn.Parameter(torch.zeros(out_features, rank))
        self.scales = nn.Parameter(torch.ones(rank))
        self.rank = rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x @ self.down.T) * self.scales) @ self.up.T

    def orthogonality_penalty(self) -> torch.Tensor:
        eye = torch.eye(self.rank, device=self.down.device)
        return (((self.down @ self.down.T - eye) ** 2).sum()
                + ((self.up.T @ self.up - eye) ** 2).sum()) / self.rank ** 2


def _basis(mats: list[torch.Tensor]) -> torch.Tensor | None:
    """Orthonormal basis (columns) of the span of the columns of ``mats``."""
    if not mats:
        return None
    q, r = torch.linalg.qr(torch.cat(mats, 1))
    keep = r.diagonal().abs() > 1e-6 * max(float(r.diagonal().abs().max()), 1e-12)
    return q[:, keep]


class OWLoRALinear(nn.Linear):
    """``nn.Linear`` plus a growing list of :class:`WeightedLoRA` adapters (all summed)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__(in_features, out_features, bias)
        self.adapters = nn.ModuleList()

    @classmethod
    def from_linear(cls, linear: nn.Linear) -> "OWLoRALinear":
        new = cls(linear.in_features, linear.out_features, linear.bias is not None)
        new.weight = linear.weight
        new.bias = linear.bias
        return new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x)
        for adapter in self.adapters:
            out = out + adapter(x)
        return out

    def _old_bases(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        old = list(self.adapters)[:-1]
        with torch.no_grad():
            return (_basis([a.down.detach().T for a in old]),
                    _basis([a.up.detach() for a in old]))

    def add_adapter(self, rank: int) -> WeightedLoRA:
        """Freeze the base and earlier adapters; append a new adapter orthogonal to them."""
        self.weight.requires_grad_(False)
        if self.bias is not None:
            self.bias.requires_grad_(False)
        for a in self.adapters:
            a.requires_grad_(False)
        adapter = WeightedLoRA(self.in_features, self.out_features, rank).to(self.weight.device)
        self.adapters.append(adapter)
        self.project_weights()
        return adapter

    def truncate_base(self, energy: float = 0.99) -> int:
        """Replace the base weight by its SVD truncation keeping ``energy``; returns the rank."""
        with torch.no_grad():
            u, s, vh = torch.linalg.svd(self.weight, full_matrices=False)
            cum = (s ** 2).cumsum(0) / (s ** 2).sum()
            k = int((cum < energy).sum()) + 1
            self.weight.copy_((u[:, :k] * s[:k]) @ vh[:k])
        return k

    @torch.no_grad()
    def project_gradients(self) -> None:
        if len(self.adapters) < 2:
            return
        new = self.adapters[-1]
        q_in, q_out = self._old_bases()
        if new.down.grad is not None and q_in is not None:
            new.down.grad -= (new.down.grad @ q_in) @ q_in.T
        if new.up.grad is not None and q_out is not None:
            new.up.grad -= q_out @ (q_out.T @ new.up.grad)

    @torch.no_grad()
    def project_weights(self) -> None:
        if len(self.adapters) < 2:
            return
        new = self.adapters[-1]
        q_in, q_out = self._old_bases()
        if q_in is not None:
            new.down -= (new.down @ q_in) @ q_in.T
        if q_out is not None:
            new.up -= q_out @ (q_out.T @ new.up)


def convert_to_owlora(module: nn.Module, exclude: tuple[str, ...] = ("classifier",)) -> list[str]:
    """Replace every ``nn.Linear`` (names not containing an ``exclude`` part) in place.

    Returns the converted module names. Like upstream, single-output linears (attention
    scorers) are kept plain.
    """
    names = []
    for name, child in list(module.named_modules()):
        for cname, c in list(child.named_children()):
            full = f"{name}.{cname}" if name else cname
            if (type(c) is nn.Linear and c.out_features > 1
                    and not any(e in full.split(".") for e in exclude)):
                setattr(child, cname, OWLoRALinear.from_linear(c))
                names.append(full)
    return names
