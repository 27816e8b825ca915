"""Elastic weight consolidation with a diagonal or a rank-1 Fisher information."""
from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from zoo.registry import STRATEGIES

from .base import Strategy


def per_sample_grads(model: nn.Module, names: list[str], inputs: torch.Tensor,
                     labels: torch.Tensor) -> torch.Tensor:
    """Flattened gradients ``[N, P]`` of ``-log p(labels | inputs)`` w.r.t. the parameters
    ``names`` (model in its current mode; use eval mode so batch norm uses running stats)."""
    params = {n: p.detach() for n, p in model.named_parameters() if n in names}
    buffers = {n: b.detach() for n, b in model.named_buffers()}

    def nll(p, x, y):
        logits = functional_call(model, (p, buffers), (x[None],))
        return F.cross_entropy(logits, y[None])

    grads = vmap(grad(nll), in_dims=(None, 0, 0))(params, inputs, labels)
    return torch.cat([grads[n].reshape(len(inputs), -1) for n in names], dim=1)


class FisherRows:
    """Per-sample score vectors ``g_i`` (rows of ``G``) with ``F = G^T G / n``.

    ``estimate``: ``'empirical'`` (true label), ``'sampled'`` (label drawn from the model's
    prediction, Kirkpatrick et al. 2017) or ``'exact'`` (all labels, each weighted by its
    predicted probability; diagonal only). See van de Ven, "On the computation of the Fisher
    information in continual learning", arXiv 2502.11756, 2025.
    """

    def __init__(self, model, names, estimate: str, chunk: int = 32,
                 generator: torch.Generator | None = None):
        if estimate not in ("empirical", "sampled", "exact"):
            raise ValueError(f"unknown Fisher estimate {estimate!r}; use empirical, sampled or "
                             "exact")
        self.model, self.names, self.estimate, self.chunk = model, names, estimate, chunk
        self.generator = generator  # for the sampled labels

    @torch.no_grad()
    def _probs(self, x):
        return self.model.logits(x).softmax(-1)

    def rows(self, inputs, labels, keep=None):
        """Yield ``(weights [m], G [m, P])`` chunks; ``F = sum_i w_i g_i g_i^T / n``.

        ``keep(k)`` false skips chunk ``k`` (distributed sharding); sampled labels are still
        drawn for skipped chunks, so the generator advances as in an unsharded pass.
        """
        for k, i in enumerate(range(0, len(inputs), self.chunk)):
            x, y = inputs[i:i + self.chunk], labels[i:i + self.chunk]
            mine = keep is None or keep(k)
            if self.estimate == "empirical":
                if mine:
                    yield torch.ones(len(x)), per_sample_grads(self.model, self.names, x, y)
            elif self.estimate == "sampled":
                probs = self._probs(x).cpu()
                y = torch.multinomial(probs, 1, generator=self.generator).flatten().to(x.device)
                if mine:
                    yield torch.ones(len(x)), per_sample_grads(self.model, self.names, x, y)
            elif not mine:
                continue
            else:
                probs = self._probs(x)
                for c in range(probs.shape[1]):
                    yc = torch.full_like(y, c)
                    yield probs[:, c].cpu(), per_sample_grads(self.model, self.names, x, yc)


@STRATEGIES.register_module()
class EWC(Strategy):
    """Elastic weight consolidation (Kirkpatrick et al., "Overcoming catastrophic forgetting in
    neural networks", PNAS 2017): the loss gains ``lambda_/2 * sum_k (theta - theta*_k)^T
    F_k (theta - theta*_k)`` over past tasks ``k``, with ``F_k`` the Fisher information at the
    end of task ``k`` and ``theta*_k`` the weights then.

    Args:
        lambda_: penalty strength.
        fisher_type: ``'diagonal'`` (the paper's ``sum_i F_ii (theta_i - theta*_i)^2``) or
            ``'rank1'``: the best rank-1 approximation of the full Fisher, ``F ~ s v v^T`` with
            ``v`` its leading eigenvector and ``s`` the eigenvalue (Eckart-Young), computed
            exactly from the Gram matrix of the per-sample scores; the penalty is then
            ``s (v . (theta - theta*))^2`` and captures the direction along which the old
            task's log-likelihood is most sensitive, including correlations between weights
            that the diagonal ignores.
        fisher_estimate: ``'empirical'`` | ``'sampled'`` | ``'exact'`` (see
            :class:`FisherRows`; ``'exact'`` only with the diagonal).
        mode: ``'separate'`` keeps one penalty per task (the paper); ``'online'`` keeps one
            running diagonal ``F <- gamma F + F_t`` anchored at the latest weights (Schwarz
            et al., "Progress & Compress", ICML 2018).
        max_samples: Fisher estimated on at most this many samples of the task (seeded).
    """

    def __init__(self, lambda_: float = 100.0, fisher_type: str = "diagonal",
                 fisher_estimate: str = "empirical", mode: str = "separate",
                 gamma: float = 1.0, max_samples: int = 512):
        super().__init__()
        if fisher_type not in ("diagonal", "rank1"):
            raise ValueError(f"fisher_type must be 'diagonal' or 'rank1', got {fisher_type!r}")
        if mode not in ("separate", "online"):
            raise ValueError(f"mode must be 'separate' or 'online', got {mode!r}")
        if fisher_type == "rank1" and (mode == "online" or fisher_estimate == "exact"):
            raise ValueError("the rank-1 Fisher supports mode='separate' and the empirical or "
                             "sampled estimate")
        self.lambda_, self.fisher_type, self.fisher_estimate = lambda_, fisher_type, \
            fisher_estimate
        self.mode, self.gamma, self.max_samples = mode, gamma, max_samples
        # one entry per consolidated task: anchor weights and Fisher factors, by param name
        self.anchors: list[dict[str, torch.Tensor]] = []
        self.fishers: list[dict[str, torch.Tensor]] = []  # diag: F_ii; rank1: v (unit)
        self.scales: list[float] = []  # rank1 eigenvalue s (1.0 for diagonal)

    @property
    def name(self) -> str:
        return "EWC" if self.fisher_type == "diagonal" else "EWC-rank1"

    # penalty --------------------------------------------------------------------------------
    @staticmethod
    def _match(param: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        """The part of ``param`` that existed when ``ref`` was stored (the head grows)."""
        if param.shape == ref.shape:
            return param
        return param[tuple(slice(0, s) for s in ref.shape)]

    def penalty(self, model: nn.Module) -> torch.Tensor:
        params = dict(model.named_parameters())
        total = next(iter(params.values())).new_zeros(())
        for anchor, fisher, scale in zip(self.anchors, self.fishers, self.scales):
            if self.fisher_type == "diagonal":
                for name, f in fisher.items():
                    delta = self._match(params[name], f) - anchor[name].to(f.device)
                    total = total + (f.to(delta.device) * delta ** 2).sum()
            else:
                proj = total.new_zeros(())
                for name, v in fisher.items():
                    delta = self._match(params[name], v) - anchor[name].to(v.device)
                    proj = proj + (v.to(delta.device) * delta).sum()
                total = total + scale * proj ** 2
        return 0.5 * self.lambda_ * total

    def loss(self, model, inputs, labels):
        losses = super().loss(model, inputs, labels)
        if self.anchors:
            losses["loss_ewc"] = self.penalty(model)
        return losses

    # consolidation ----------------------------------------------------------------------------
    def _fisher_inputs(self, task):
        inputs, labels = self.loop.collect(self.loop.task_dataset(task))
        if len(inputs) > self.max_samples:
            g = torch.Generator().manual_seed(self.loop.seed + task)
            keep = torch.randperm(len(inputs), generator=g)[:self.max_samples]
            inputs, labels = inputs[keep], labels[keep]
        return inputs, labels

    def consolidate(self, model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> None:
        """Compute the Fisher of ``(inputs, labels)`` at the current weights and store it.

        Under ``torch.distributed`` every rank must pass the same ``inputs`` (the loop gathers
        the task data); the diagonal Fisher's per-sample gradients are then shared out over
        the ranks and all-reduced."""
        names = [n for n, p in model.named_parameters() if p.requires_grad]
        shapes = {n: p.shape for n, p in model.named_parameters() if n in names}
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        estimator = FisherRows(model, names, self.fisher_estimate,
                               generator=getattr(self.loop, "generator", None))
        inputs, labels = inputs.to(device), labels.to(device)
        n = len(inputs)
        if self.fisher_type == "diagonal":
            # distributed: the ranks (all given the same gathered task data) share the chunks
            # of per-sample gradients out and sum their parts, so every rank gets the Fisher
            # of the whole task (the rank-1 Fisher needs all rows; every rank computes it)
            shard = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
            rank, world = (dist.get_rank(), dist.get_world_size()) if shard else (0, 1)
            diag = torch.zeros(sum(shapes[name].numel() for name in names), device=device)
            for w, g in estimator.rows(inputs, labels, keep=lambda k: k % world == rank):
                diag += (w.to(g.device)[:, None] * g ** 2).sum(0)
            if shard:
                dist.all_reduce(diag)
            flat, scale = diag / n, 1.0
        else:
            rows = torch.cat([g for _, g in estimator.rows(inputs, labels)])  # [n, P]
            gram = rows @ rows.T / n
            evals, evecs = torch.linalg.eigh(gram)
            top = rows.T @ evecs[:, -1]
            flat, scale = top / top.norm().clamp_min(1e-12), float(evals[-1])
        model.train(was_training)
        factors, offset = {}, 0
        for name in names:
            size = shapes[name].numel()
            factors[name] = flat[offset:offset + size].reshape(shapes[name]).detach().cpu()
            offset += size
        anchor = {n: p.detach().cpu().clone() for n, p in model.named_parameters() if n in names}
        if self.mode == "online" and self.fishers:
            old = self.fishers[0]
            for name, f in factors.items():
                if name in old:
                    prev = self.gamma * old[name]
                    f[tuple(slice(0, s) for s in prev.shape)] += prev
            self.anchors, self.fishers, self.scales = [anchor], [factors], [scale]
        else:
            self.anchors.append(anchor)
            self.fishers.append(factors)
            self.scales.append(scale)

    def after_task(self, model, task):
        if task < self.scenario.num_tasks - 1:
            self.consolidate(model, *self._fisher_inputs(task))

    def state_dict(self):
        return {"anchors": self.anchors, "fishers": self.fishers, "scales": list(self.scales)}

    def load_state_dict(self, state, model):
        self.anchors = list(state["anchors"])
        self.fishers = list(state["fishers"])
        self.scales = [float(s) for s in state["scales"]]
