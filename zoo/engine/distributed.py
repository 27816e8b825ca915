"""Data-parallel training on CPUs (gloo) as well as GPUs.

mmengine's default wrapper passes ``device_ids=[LOCAL_RANK]`` to DDP, which DDP refuses for
CPU modules, and torch's ``SyncBatchNorm`` runs on GPUs only. ``ZooDistributedDataParallel``
drops ``device_ids`` for CPU models and can replace BatchNorm by :class:`GlooSyncBatchNorm`,
whose statistics are all-reduced over the process group, so ``k`` processes with batch ``b``
train like one process with batch ``k * b``.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel
from torch import nn
from torch.distributed.nn.functional import all_reduce

from zoo.registry import MODEL_WRAPPERS


class GlooSyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch normalisation with statistics over the samples of all processes.

    Works on any device and backend: per-channel sums and sums of squares are combined with
    a differentiable ``all_reduce``, so autograd produces the synchronised backward pass.
    Outside training or without an initialised process group it is plain BatchNorm.
    """

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-D input, got {x.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized()
                and dist.get_world_size() > 1):
            return super().forward(x)
        dims = [0, *range(2, x.dim())]
        count = torch.tensor([x.numel() / x.shape[1]], dtype=x.dtype, device=x.device)
        stats = torch.cat([x.sum(dims), (x * x).sum(dims), count])
        stats = all_reduce(stats)
        c = x.shape[1]
        total = stats[-1]
        mean = stats[:c] / total
        var = stats[c:2 * c] / total - mean * mean
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked += 1
                momentum = self.momentum if self.momentum is not None \
                    else 1.0 / float(self.num_batches_tracked)
                unbiased = var * total / (total - 1)
                self.running_mean.mul_(1 - momentum).add_(momentum * mean)
                self.running_var.mul_(1 - momentum).add_(momentum * unbiased)
        shape = [1, c] + [1] * (x.dim() - 2)
        out = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out


def convert_to_gloo_sync_bn(module: nn.Module) -> nn.Module:
    """Replace every ``BatchNorm1d/2d/3d`` below ``module`` by :class:`GlooSyncBatchNorm`,
    keeping its parameters and running statistics."""
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and \
            not isinstance(module, GlooSyncBatchNorm):
        new = GlooSyncBatchNorm(module.num_features, module.eps, module.momentum,
                                module.affine, module.track_running_stats)
        new.load_state_dict(module.state_dict())
        new.train(module.training)
        return new
    for name, child in module.named_children():
        setattr(module, name, convert_to_gloo_sync_bn(child))
    return module


@MODEL_WRAPPERS.register_module()
class ZooDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's DDP wrapper that also runs CPU models (gloo) and syncs BatchNorm.

    Args:
        module: the model.
        sync_bn: replace BatchNorm by :class:`GlooSyncBatchNorm` (default True).
        device_ids: GPU ids; ignored for CPU models.
    """

    def __init__(self, module: nn.Module, sync_bn: bool = True, device_ids=None, **kwargs):
        if sync_bn:
            module = convert_to_gloo_sync_bn(module)
        on_cpu = next(module.parameters()).device.type == "cpu"
        kwargs.setdefault("broadcast_buffers", False)
        super().__init__(module=module, device_ids=None if on_cpu else device_ids, **kwargs)


def init_cpu_process_group(launcher: str, backend: str = "gloo") -> bool:
    """Start the process group for CPU-only training before the runner does.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device`` and so fails on machines without
    a GPU; the runner skips it when a group already exists. Only the ``pytorch`` launcher
    (torchrun's ``env://`` variables) is handled here; with a GPU, mmengine does the set-up.
    Returns True when this function initialised the group.
    """
    if launcher != "pytorch" or torch.cuda.is_available() or dist.is_initialized():
        return False
    dist.init_process_group(backend=backend, init_method="env://")
    return True
