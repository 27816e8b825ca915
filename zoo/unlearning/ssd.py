"""Selective Synaptic Dampening (SSD), a retrain-free, gradient-free-update unlearner."""
from __future__ import annotations

import time

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from zoo.registry import UNLEARNERS
from zoo.unlearning.base import BaseUnlearner


def diagonal_fisher(model: nn.Module, batches, desc: str = "importance",
                    shard: bool | None = None) -> dict[str, torch.Tensor]:
    """Mean over mini-batches of the squared gradient of the batch-mean cross-entropy, per
    parameter (the importance of SSD's official code: sum of ``grad**2`` / number of batches).

    Distributed (``shard`` true, default: when a process group with more than one rank is
    initialised): every rank is given the same batch sequence and back-propagates batch ``i``
    only when ``i % world_size == rank``; the sums of squared gradients and the batch counts
    are then all-reduced, so every rank returns the importance of all batches (the
    one-process result up to the order of the floating-point sums). ``model`` must be the
    unwrapped model (a DDP wrapper would average the per-batch gradients before squaring).
    """
    if isinstance(model, nn.parallel.DistributedDataParallel):
        raise TypeError(f"{desc}: pass the model inside the DDP wrapper (model.module)")
    if shard is None:
        shard = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
    rank, world = (dist.get_rank(), dist.get_world_size()) if shard else (0, 1)
    imp = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
    count = 0
    for i, (inputs, labels) in enumerate(tqdm(batches, desc=desc, leave=False,
                                              disable=rank != 0)):
        if i % world != rank:
            continue
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model.logits(inputs), labels).backward()
        for n, p in model.named_parameters():
            if p.grad is not None:
                imp[n] += p.grad.detach() ** 2
        count += 1
    model.zero_grad(set_to_none=True)
    if shard:
        flat = torch.cat([v.flatten() for v in imp.values()]
                         + [torch.tensor([float(count)], device=next(iter(imp.values())).device,
                                         dtype=next(iter(imp.values())).dtype)])
        dist.all_reduce(flat)
        count = int(round(float(flat[-1])))
        offset = 0
        for v in imp.values():
            v.copy_(flat[offset:offset + v.numel()].view_as(v))
            offset += v.numel()
    if count == 0:
        raise ValueError(f"{desc}: no batch")
    return {n: v / count for n, v in imp.items()}


@torch.no_grad()
def dampen(model: nn.Module, full_importance: dict[str, torch.Tensor],
           forget_importance: dict[str, torch.Tensor], alpha: float,
           lam: float) -> dict[str, torch.Tensor]:
    """SSD's update: where ``forget > alpha * full``, multiply the parameter by
    ``min(lam * full / forget, 1)``; elsewhere leave it. Returns the selection masks."""
    masks = {}
    for n, p in model.named_parameters():
        full, forget = full_importance[n], forget_importance[n]
        mask = forget > alpha * full
        factor = torch.ones_like(p)
        factor[mask] = (lam * full[mask] / forget[mask]).clamp(max=1.0)
        p.mul_(factor)
        masks[n] = mask
    return masks


@UNLEARNERS.register_module()
class SSD(BaseUnlearner):
    """Selective Synaptic Dampening (Foster, Schoepf & Brintrup, "Fast Machine Unlearning
    Without Retraining Through Selective Synaptic Dampening", AAAI 2024, arXiv 2308.07707).

    Computes the diagonal Fisher information (squared gradients of the cross-entropy) on the
    whole training set ``[]_D`` and on the forget set ``[]_Df`` with the model in eval mode;
    every parameter with ``[]_Df > alpha * []_D`` is multiplied by
    ``min(lambda * []_D / []_Df, 1)``. No training step is taken. Defaults are the official
    code's (alpha = selection_weighting = 10, lambda = dampening_constant = 1).

    Args:
        alpha: selection threshold.
        lam: dampening constant.
        batch_size: batch size of both importance passes (default: the config's).

    Under ``torch.distributed`` both importance passes are shared out over the ranks and
    all-reduced (:func:`diagonal_fisher`), so every rank dampens the same parameters.
    """

    uses_retain_data = False

    def __init__(self, alpha: float = 10.0, lam: float = 1.0, batch_size: int | None = None):
        self.alpha, self.lam, self.batch_size = alpha, lam, batch_size
        self.selected: dict[str, int] = {}
        self.total_parameters = 0
        self.seconds_full_importance = self.seconds_forget_and_dampen = 0.0

    def unlearn(self, model: nn.Module, ctx) -> nn.Module:
        model.eval()
        start = time.perf_counter()
        full = diagonal_fisher(
            model, ctx.loader("train", model, shuffle=False, batch_size=self.batch_size),
            "SSD full importance")
        self.seconds_full_importance = time.perf_counter() - start
        start = time.perf_counter()
        forget = diagonal_fisher(
            model, ctx.loader("forget", model, shuffle=False, batch_size=self.batch_size),
            "SSD forget importance")
        masks = dampen(model, full, forget, self.alpha, self.lam)
        self.seconds_forget_and_dampen = time.perf_counter() - start
        self.selected = {n: int(m.sum()) for n, m in masks.items()}
        self.total_parameters = sum(m.numel() for m in masks.values())
        return model

    def config(self) -> dict:
        """Hyper-parameters, how many parameters were dampened, and the split of the time:
        the full-data importance can be computed once before any request (as the official
        code notes), the forget importance and dampening are the per-request cost."""
        return dict(alpha=self.alpha, lam=self.lam, batch_size=self.batch_size,
                    dampened_parameters=sum(self.selected.values()),
                    total_parameters=self.total_parameters,
                    seconds_full_importance=round(self.seconds_full_importance, 3),
                    seconds_forget_and_dampen=round(self.seconds_forget_and_dampen, 3))
