"""RanPAC: random projection and class-prototype ridge regression on a frozen backbone."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.registry import STRATEGIES

from .base import Strategy
from .replay import embed_in_batches

RIDGE_GRID = tuple(10.0 ** e for e in range(-8, 15))


def ridge_solve(gram: torch.Tensor, targets: torch.Tensor, ridge: float) -> torch.Tensor:
    """``(G + ridge I)^-1 C``: the ridge-regression read-out from accumulated statistics."""
    eye = torch.eye(len(gram), dtype=gram.dtype)
    return torch.linalg.solve(gram + ridge * eye, targets)


def choose_ridge(h: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None,
                 grid=RIDGE_GRID) -> float:
    """The ridge value of ``grid`` with the lowest mean squared error on a random 20 % of
    ``(h, y)`` (one-hot ``y``) when fitted on the other 80 %."""
    perm = torch.randperm(len(h), generator=generator)
    cut = int(0.8 * len(h))
    fit, held = perm[:cut], perm[cut:]
    gram, targets = h[fit].T @ h[fit], h[fit].T @ y[fit]
    errors = [float(((h[held] @ ridge_solve(gram, targets, r) - y[held]) ** 2).mean())
              for r in grid]
    return float(grid[min(range(len(grid)), key=errors.__getitem__)])


@STRATEGIES.register_module()
class RanPAC(Strategy):
    """RanPAC (McDonnell, Gong, Parvaneh, Abbasnejad & van den Hengel, "RanPAC: Random
    Projections and Pre-trained Models for Continual Learning", NeurIPS 2023).

    The backbone is frozen (pretrained weights from the config, as :class:`SimpleCIL`;
    ``trains = False``). Embeddings are projected by a fixed random Gaussian matrix to
    ``projection_dim`` features with a ReLU, ``h = relu(f(x) W)``; across tasks the Gram
    matrix ``G = sum h h^T`` and ``C = sum h y^T`` (one-hot ``y``) are accumulated, and the
    read-out is the ridge solution ``W_o = (G + lambda I)^-1 C``; scores are ``h W_o``. With
    ``ridge=None`` lambda is chosen at each task end from ``10^-8 .. 10^14`` by the mean
    squared error on a random 20 % of the task's features fitted on the rest. The paper's
    first-session parameter-efficient adaptation of the backbone is not done here.
    """

    family = "other"
    trains = False

    def __init__(self, projection_dim: int = 1000, ridge: float | None = None):
        super().__init__()
        self.projection_dim, self.ridge = int(projection_dim), ridge
        self.projection: torch.Tensor | None = None
        self.gram: torch.Tensor | None = None
        self.targets: torch.Tensor | None = None
        self.readout: torch.Tensor | None = None
        self.chosen_ridges: list[float] = []

    def prepare_model(self, model, task):
        for p in model.parameters():
            p.requires_grad_(False)

    def features(self, embeddings: torch.Tensor) -> torch.Tensor:
        return F.relu(embeddings.double() @ self.projection)

    def after_task(self, model, task):
        inputs, labels = self.context.collect(self.context.task_dataset(task))
        emb = embed_in_batches(model, inputs)
        if self.projection is None:
            g = torch.Generator().manual_seed(self.context.seed + 4_243)
            self.projection = torch.randn(emb.shape[1], self.projection_dim, generator=g,
                                          dtype=torch.float64)
        h = self.features(emb)
        num_seen = self.scenario.num_seen_classes(task)
        y = F.one_hot(labels.long(), num_seen).double()
        if self.gram is None:
            self.gram = torch.zeros(self.projection_dim, self.projection_dim,
                                    dtype=torch.float64)
            self.targets = torch.zeros(self.projection_dim, 0, dtype=torch.float64)
        self.gram += h.T @ h
        self.targets = F.pad(self.targets, (0, num_seen - self.targets.shape[1])) + h.T @ y
        ridge = self.ridge
        if ridge is None:
            g = torch.Generator().manual_seed(self.context.seed + task)
            ridge = choose_ridge(h, y, g)
        self.chosen_ridges.append(float(ridge))
        self.readout = ridge_solve(self.gram, self.targets, ridge)

    @torch.no_grad()
    def predict(self, model, inputs):
        if self.readout is None:
            raise RuntimeError("RanPAC predicts with the ridge read-out, fitted at the task end")
        return (self.features(model.embed(inputs).cpu()) @ self.readout).float()

    def state_dict(self):
        if self.readout is None:
            return {}
        return {k: getattr(self, k) for k in ("projection", "gram", "targets", "readout")} | {
            "chosen_ridges": list(self.chosen_ridges)}

    def load_state_dict(self, state, model):
        for k in ("projection", "gram", "targets", "readout"):
            setattr(self, k, state.get(k))
        self.chosen_ridges = [float(r) for r in state.get("chosen_ridges", [])]
