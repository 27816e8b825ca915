"""Elastic weight consolidation with a diagonal or a rank-1 Fisher information."""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

from zoo.registry import STRATEGIES

from .base import Strategy
from .per_sample import nll_loss
from .per_sample import per_sample_grads as sample_grads


def per_sample_grads(model: nn.Module, names: list[str], inputs: torch.Tensor,
                     labels: torch.Tensor) -> torch.Tensor:
    """Flattened gradients ``[N, P]`` of ``-log p(labels | inputs)`` w.r.t. the parameters
    ``names`` (model in its current mode; use eval mode so batch norm uses running stats)."""
    grads = sample_grads(model, names, inputs, labels, nll_loss)
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
        penalty_step: how the penalty enters training. ``'gradient'`` (the paper): its
            gradient is added to the loss. With SGD this is unstable once ``lr * lambda_ *
            F`` exceeds the optimizer's stability limit (2 for plain SGD, less with Nesterov
            momentum) for the stiffest weights, so strengths that would protect the old tasks
            diverge. ``'proximal'``: the optimizer steps on the task loss alone and each step
            is followed by the exact proximal step of the penalty, ``theta <- argmin_u
            penalty(u) + ||u - theta||^2 / (2 c)`` with ``c`` the parameter's step size
            (its learning rate, divided by ``1 - momentum`` under momentum: see
            :meth:`effective_step`): for the diagonal Fisher ``theta* + (theta - theta*) /
            (1 + c lambda_ F)`` (summed over the tasks' terms), for rank-1 Fisher terms the
            Sherman-Morrison / Woodbury closed form. This is proximal gradient descent on
            the same EWC objective (its fixed points are the objective's stationary points);
            it is stable for any ``lambda_``. It needs an optimizer whose step is ``lr``
            times a direction (``torch.optim.SGD``, with or without momentum).
    """

    family = "regularisation"

    def __init__(self, lambda_: float = 100.0, fisher_type: str = "diagonal",
                 fisher_estimate: str = "empirical", mode: str = "separate",
                 gamma: float = 1.0, max_samples: int = 512, penalty_step: str = "gradient"):
        super().__init__()
        if fisher_type not in ("diagonal", "rank1"):
            raise ValueError(f"fisher_type must be 'diagonal' or 'rank1', got {fisher_type!r}")
        if penalty_step not in ("gradient", "proximal"):
            raise ValueError(f"penalty_step must be 'gradient' or 'proximal', got "
                             f"{penalty_step!r}")
        self.penalty_step = penalty_step
        self._prox_cache: tuple | None = None
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
            if self.penalty_step == "gradient":
                losses["loss_ewc"] = self.penalty(model)
            else:  # logged only (no 'loss' in the key): applied by the proximal step
                with torch.no_grad():
                    losses["ewc_penalty"] = self.penalty(model).detach()
        return losses

    # proximal step ----------------------------------------------------------------------------
    @staticmethod
    def _pad(ref: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """``ref`` in a zero tensor of ``like``'s shape (the head has grown since)."""
        if ref.shape == like.shape:
            return ref.to(like.device, like.dtype)
        out = torch.zeros_like(like)
        out[tuple(slice(0, s) for s in ref.shape)] = ref.to(like.device, like.dtype)
        return out

    def _proximal_terms(self, params: dict[str, torch.Tensor]):
        """Per-parameter tensors of the penalty at the current shapes, cached.

        Diagonal: ``{name: (A, B)}`` with ``A = sum_k F_k`` and ``B = sum_k F_k theta*_k``.
        Rank-1: ``(vs, bs, scales)`` with ``vs[k] = {name: v_k}`` and ``bs[k] = v_k .
        theta*_k``, so the penalty is ``lambda_/2 sum_k s_k (v_k . theta - b_k)^2``.
        """
        key = (len(self.fishers), tuple((n, tuple(p.shape)) for n, p in params.items()))
        if self._prox_cache is not None and self._prox_cache[0] == key:
            return self._prox_cache[1]
        if self.fisher_type == "diagonal":
            terms: dict = {}
            for anchor, fisher in zip(self.anchors, self.fishers):
                for name, f in fisher.items():
                    a = self._pad(f, params[name])
                    b = self._pad(f * anchor[name], params[name])
                    if name in terms:
                        terms[name] = (terms[name][0] + a, terms[name][1] + b)
                    else:
                        terms[name] = (a, b)
        else:
            vs, bs = [], []
            for anchor, fisher in zip(self.anchors, self.fishers):
                vs.append({name: self._pad(v, params[name]) for name, v in fisher.items()})
                bs.append(sum(float((v.double() * anchor[name].double()).sum())
                              for name, v in fisher.items()))
            terms = (vs, bs, list(self.scales))
        self._prox_cache = (key, terms)
        return terms

    @torch.no_grad()
    def proximal_step(self, model: nn.Module, step_sizes: dict[str, float]) -> None:
        """Replace the weights ``theta`` by ``argmin_u lambda_/2 sum_k (u - theta*_k)^T F_k
        (u - theta*_k) + sum_i (u_i - theta_i)^2 / (2 c_i)``, ``c_i`` the step size (learning
        rate) of the parameter tensor holding weight ``i`` (``step_sizes[name]``)."""
        if not self.anchors:
            return
        params = dict(model.named_parameters())
        terms = self._proximal_terms(params)
        lam = self.lambda_
        if self.fisher_type == "diagonal":
            for name, (a, b) in terms.items():
                c = lam * step_sizes[name]
                p = params[name]
                p.copy_((p + c * b) / (1 + c * a))
            return
        # rank-1 terms: theta = theta' - C lambda sum_k s_k v_k (u_k - b_k), with u = V^T theta
        # solving (I + M) u = V^T theta' + M b, M_jk = lambda s_k v_j^T C v_k (Woodbury;
        # Sherman-Morrison for one task)
        vs, bs, scales = terms
        k = len(vs)
        names = sorted({n for v in vs for n in v})
        proj = torch.zeros(k, dtype=torch.float64)
        gram = torch.zeros(k, k, dtype=torch.float64)
        for name in names:
            p = params[name].double()
            c = step_sizes[name]
            for j in range(k):
                vj = vs[j].get(name)
                if vj is None:
                    continue
                vj = vj.double()
                proj[j] += float((vj * p).sum())
                for m in range(k):
                    vm = vs[m].get(name)
                    if vm is not None:
                        gram[j, m] += c * float((vj * vm.double()).sum())
        s = torch.tensor(scales, dtype=torch.float64)
        b = torch.tensor(bs, dtype=torch.float64)
        mat = lam * gram * s[None, :]
        u = torch.linalg.solve(torch.eye(k, dtype=torch.float64) + mat, proj + mat @ b)
        coef = lam * s * (u - b)  # [k]
        for name in names:
            p = params[name]
            step = torch.zeros_like(p, dtype=torch.float64)
            for j in range(k):
                vj = vs[j].get(name)
                if vj is not None:
                    step += float(coef[j]) * vj.double()
            p.sub_((step_sizes[name] * step).to(p.dtype))

    @staticmethod
    def effective_step(group: dict) -> float:
        """Step length per unit gradient of a ``torch.optim.SGD`` parameter group once its
        momentum buffer has settled: ``lr`` without momentum, ``lr (1 - dampening) / (1 -
        momentum)`` with heavy-ball momentum, ``lr / (1 - momentum)`` with Nesterov. The
        proximal step uses it, so that the fixed points of "SGD step on the task loss, then
        proximal step" are the stationary points of task loss + penalty (with the bare
        ``lr`` under momentum 0.9 the penalty would act 10 times weaker)."""
        lr, mu = float(group["lr"]), float(group.get("momentum", 0.0))
        if mu == 0.0:
            return lr
        if group.get("nesterov", False):
            return lr / (1.0 - mu)
        return lr * (1.0 - float(group.get("dampening", 0.0))) / (1.0 - mu)

    def _step_sizes(self, model: nn.Module) -> dict[str, float]:
        """The effective step size (:meth:`effective_step`) of every parameter in the loop's
        current optimizer."""
        optimizer = self.context.runner.optim_wrapper.optimizer
        if not isinstance(optimizer, torch.optim.SGD):
            raise ValueError(
                f"EWC penalty_step='proximal' needs torch.optim.SGD (a step of lr times a "
                f"direction), the run uses {type(optimizer).__name__}; use "
                "penalty_step='gradient' with it")
        step_of = {id(p): self.effective_step(group) for group in optimizer.param_groups
                   for p in group["params"]}
        return {name: step_of.get(id(p), 0.0) for name, p in model.named_parameters()}

    def after_iter(self, model, inputs, labels):
        if self.penalty_step == "proximal" and self.anchors:
            self.proximal_step(model, self._step_sizes(model))

    # consolidation ----------------------------------------------------------------------------
    def _fisher_inputs(self, task):
        inputs, labels = self.context.collect(self.context.task_dataset(task))
        if len(inputs) > self.max_samples:
            g = torch.Generator().manual_seed(self.context.seed + task)
            keep = torch.randperm(len(inputs), generator=g)[:self.max_samples]
            inputs, labels = inputs[keep], labels[keep]
        return inputs, labels

    def consolidate(self, model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> None:
        """Compute the Fisher of ``(inputs, labels)`` at the current weights and store it.

        Under ``torch.distributed`` every rank must pass the same ``inputs`` (the loop gathers
        the task data); the diagonal Fisher's per-sample gradients are then shared out over
        the ranks and all-reduced."""
        self._prox_cache = None
        names = [n for n, p in model.named_parameters() if p.requires_grad]
        shapes = {n: p.shape for n, p in model.named_parameters() if n in names}
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        estimator = FisherRows(model, names, self.fisher_estimate,
                               generator=getattr(self.context, "generator", None))
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
                g = g.square_()  # a fresh [chunk, P] tensor: squared in place, no copy
                # the weights are 1 but for the 'exact' estimate: no product, the same sum
                diag += (w.to(g.device)[:, None] * g).sum(0) if self.fisher_estimate == "exact" \
                    else g.sum(0)
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
        self._prox_cache = None
        self.anchors = list(state["anchors"])
        self.fishers = list(state["fishers"])
        self.scales = [float(s) for s in state["scales"]]


@STRATEGIES.register_module()
class OnlineEWC(EWC):
    """Online EWC (Schwarz et al., "Progress & Compress: A scalable framework for continual
    learning", ICML 2018, Eq. 8; the EWC++ of Chaudhry et al., ECCV 2018, is the same running
    average): one diagonal Fisher ``F <- gamma F + F_t`` kept over the tasks and one anchor,
    the weights at the end of the latest task; penalty ``lambda_/2 sum_i F_i (theta_i -
    theta*_i)^2``. :class:`EWC` with ``mode='online'``; the other arguments are EWC's."""

    def __init__(self, lambda_: float = 100.0, gamma: float = 0.9, **kwargs):
        if kwargs.get("mode", "online") != "online" or \
                kwargs.get("fisher_type", "diagonal") != "diagonal":
            raise ValueError("OnlineEWC is the diagonal, online EWC; use EWC for other modes")
        kwargs.update(mode="online", fisher_type="diagonal")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"OnlineEWC gamma must lie in [0, 1], got {gamma}")
        super().__init__(lambda_=lambda_, gamma=gamma, **kwargs)

    @property
    def name(self) -> str:
        return "OnlineEWC"
