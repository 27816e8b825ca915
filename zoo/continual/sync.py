"""Rank synchronisation of the continual loop (every function is an identity in one process).

Under distributed training each rank trains on its shard of a task (mmengine's
``DefaultSampler``) and the loop averages the gradients itself (the strategies call the
unwrapped model and the head grows, so DDP's reducer is not used). What strategies keep must
agree on all ranks: they see the gathered global batch (:func:`gather_step`), draw replay
minibatches identically and train on their share (:func:`rank_share`), and after every task
:func:`check_rank_consistency` compares digests of the weights and the strategy state.
Task-end passes (herding, Fisher) see the gathered task data, evaluation scores are gathered
before the accuracy matrix is filled, and only rank 0 writes results and checkpoints.
"""
from __future__ import annotations

import torch
import torch.distributed as torch_dist
from torch import nn


def gather_ordered(local: torch.Tensor, world_size: int, total: int | None = None
                   ) -> torch.Tensor:
    """Concatenate the ranks' rows in the order of the underlying index list.

    mmengine's ``DefaultSampler`` gives rank ``r`` the positions ``r, r + w, r + 2w, ...``
    of the (shuffled or ordered) index list, so row ``k`` of rank ``r`` is global row
    ``k * w + r``; every rank holds the same number of rows (the sampler pads at the end).
    ``total`` drops the padding. This is also the order of one process with a ``w``-times
    larger batch within a training step.
    """
    if world_size == 1:
        return local if total is None else local[:total]
    parts = [torch.empty_like(local) for _ in range(world_size)]
    torch_dist.all_gather(parts, local.contiguous())
    merged = torch.stack(parts, dim=1).reshape(-1, *local.shape[1:])
    return merged if total is None else merged[:total]


def gather_step(tensors: tuple[torch.Tensor | None, ...], world_size: int, valid: int
                ) -> tuple:
    """The global batch of a training step (see :func:`gather_ordered`) without the
    ``valid``-exceeding samples the sampler repeated as padding; ``None`` passes through."""
    if world_size == 1:
        return tensors
    return tuple(None if t is None else gather_ordered(t.detach(), world_size)[:valid]
                 for t in tensors)


def rank_share(batch: dict[str, torch.Tensor], rank: int, world_size: int
               ) -> dict[str, torch.Tensor]:
    """This rank's part ``[rank::world_size]`` of a minibatch drawn identically on all ranks."""
    if world_size == 1:
        return batch
    return {k: v[rank::world_size] for k, v in batch.items()}


def all_finite(loss: torch.Tensor, world_size: int) -> bool:
    """Whether the loss is finite on every rank (so that all ranks stop together)."""
    finite = torch.isfinite(loss).detach().cpu().float()
    if world_size > 1:
        torch_dist.all_reduce(finite, op=torch_dist.ReduceOp.MIN)
    return bool(finite)


def all_reduce_gradients(model: nn.Module, world_size: int, task: int, strategy: str) -> None:
    """Average the gradients over the ranks (one flat all-reduce); raise when the ranks
    computed gradients for different parameters."""
    params = [p for p in model.parameters() if p.grad is not None]
    count = torch.tensor([len(params), sum(p.numel() for p in params)], dtype=torch.long)
    counts = [torch.zeros_like(count) for _ in range(world_size)]
    torch_dist.all_gather(counts, count)
    if any(not torch.equal(c, count) for c in counts):
        raise RuntimeError(
            f"ContinualTrainLoop: the ranks computed gradients for different parameters "
            f"(count, size per rank: {[c.tolist() for c in counts]}) in task "
            f"{task + 1}; strategy {strategy} is not rank-consistent")
    if not params:
        return
    flat = torch.cat([p.grad.reshape(-1) for p in params])
    torch_dist.all_reduce(flat)
    flat /= world_size
    offset = 0
    for p in params:
        n = p.numel()
        p.grad.copy_(flat[offset:offset + n].view_as(p.grad))
        offset += n


def check_rank_consistency(model_state: dict, strategy_state: dict, rank: int,
                           world_size: int, task: int) -> None:
    """Raise when the weights or the strategy state differ between ranks."""
    if world_size == 1:
        return
    digest = torch.tensor([state_digest(model_state), state_digest(strategy_state)],
                          dtype=torch.float64)
    digests = [torch.zeros_like(digest) for _ in range(world_size)]
    torch_dist.all_gather(digests, digest)
    for other_rank, other in enumerate(digests):
        if not torch.allclose(other, digest, rtol=1e-9, atol=1e-9):
            raise RuntimeError(
                f"ContinualTrainLoop: after task {task + 1} rank {other_rank} holds other "
                f"weights/strategy state than rank {rank} (digests "
                f"{other.tolist()} vs {digest.tolist()})")


def state_digest(state) -> float:
    """A number that changes with any tensor or number in a (nested) state dict."""
    total = 0.0
    if isinstance(state, dict):
        for i, key in enumerate(sorted(state, key=str)):
            total += (i + 1) * state_digest(state[key])
    elif isinstance(state, (list, tuple)):
        for i, value in enumerate(state):
            total += (i + 1) * state_digest(value)
    elif torch.is_tensor(state):
        flat = state.detach().double().flatten().cpu()
        weights = torch.arange(1, len(flat) + 1, dtype=torch.float64).remainder(97) + 1
        total += float((flat.nan_to_num() * weights).sum()) + len(flat)
    elif isinstance(state, (int, float)):
        total += float(state)
    return total
