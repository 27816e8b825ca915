"""Data-parallel training on CPUs (gloo) as well as GPUs.

mmengine's default wrapper passes ``device_ids=[LOCAL_RANK]`` to DDP, which DDP refuses for
CPU modules, and torch's ``SyncBatchNorm`` runs on GPUs only. ``ZooDistributedDataParallel``
drops ``device_ids`` for CPU models and can replace BatchNorm by :class:`GlooSyncBatchNorm`,
whose statistics are all-reduced over the process group, so ``k`` processes with batch ``b``
train like one process with batch ``k * b``.

Models with their own ``train_step``:

* one optimiser plus work around the update (e.g. CoMEL's OWLoRA gradient projection): the
  model exposes ``after_backward()`` / ``after_optimizer_step()``;
  :meth:`ZooDistributedDataParallel.train_step` runs the forward through DDP (so gradients are
  averaged during ``backward``) and calls these hooks around the optimiser step.
* several optimisers (GANs): :class:`ZooSeparateDistributedDataParallel` wraps each
  sub-network (generator, discriminator) in its own DDP and calls the model's ``train_step``,
  as mmengine's ``MMSeparateDistributedDataParallel`` does for MMagic/MMGeneration.
"""
from __future__ import annotations

import time
from contextlib import ExitStack, contextmanager

import torch
import torch.distributed as dist
from mmengine.model import BaseModel, MMDistributedDataParallel, MMSeparateDistributedDataParallel
from mmengine.model.utils import detect_anomalous_params
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
        self._trainable = _trainable_ids(module)

    def train_step(self, data, optim_wrapper) -> dict:
        """mmengine's DDP step (forward through DDP, gradients averaged in ``backward``), plus
        the module's optional ``after_backward()`` and ``after_optimizer_step()`` hooks.

        Raises when the module has its own ``train_step`` but no hooks (that step would be
        skipped silently), and when its trainable parameters changed after wrapping (DDP would
        not average the gradients of new ones; wrap again after e.g. ``start_task``).
        """
        module = self.module
        name = type(module).__name__
        if _overrides_train_step(module) and not (hasattr(module, "after_backward") or
                                                  hasattr(module, "after_optimizer_step")):
            raise TypeError(
                f"{name} defines its own train_step, which DDP would bypass; give it "
                "after_backward()/after_optimizer_step() hooks, or (several optimisers, GANs) "
                "set model_wrapper_cfg = dict(type='zoo.ZooSeparateDistributedDataParallel')")
        if _trainable_ids(module) != self._trainable:
            raise RuntimeError(
                f"{name}: the set of trainable parameters changed after the DDP wrapper was "
                "built (their gradients would not be averaged); wrap the model again")
        with optim_wrapper.optim_context(self):
            data = module.data_preprocessor(data, training=True)
            losses = self._run_forward(data, mode="loss")
        parsed, log_vars = module.parse_losses(losses)
        optim_wrapper.backward(optim_wrapper.scale_loss(parsed))
        if self.detect_anomalous_params:
            detect_anomalous_params(parsed, model=self)
        if hasattr(module, "after_backward"):
            module.after_backward()
        if optim_wrapper.should_update():
            optim_wrapper.step()
            optim_wrapper.zero_grad()
            if hasattr(module, "after_optimizer_step"):
                module.after_optimizer_step()
        return log_vars


@MODEL_WRAPPERS.register_module()
class ZooSeparateDistributedDataParallel(MMSeparateDistributedDataParallel):
    """One DDP per trainable child module (e.g. generator and discriminator of a GAN); the
    model's own ``train_step`` runs (mmengine's ``MMSeparateDistributedDataParallel``, made to
    run on CPUs with gloo and with synchronised BatchNorm).

    Why separate wrappers: a GAN step updates the discriminator, then the generator with the
    discriminator frozen. One DDP over the whole model would expect gradients for every
    parameter in every backward pass (or need ``find_unused_parameters``) and mmengine's DDP
    ``train_step`` would ignore the model's two-optimiser step. With one DDP per child, each
    ``backward`` averages the gradients of the child that produced them. The model must call
    its children through their ``forward`` (the DDP wrapper's) whenever their gradients are
    needed; it may call the unwrapped child (see :func:`unwrap`) where they are not.

    Args:
        module: the model; its direct children with trainable parameters are wrapped.
        sync_bn: replace BatchNorm by :class:`GlooSyncBatchNorm` (default True).
        broadcast_buffers / find_unused_parameters: as in DDP (default False).
        device_ids: GPU ids; ignored for CPU models.
    """

    def __init__(self, module: nn.Module, sync_bn: bool = True, broadcast_buffers: bool = False,
                 find_unused_parameters: bool = False, device_ids=None, **kwargs):
        if sync_bn:
            module = convert_to_gloo_sync_bn(module)
        if next(module.parameters()).device.type != "cpu" and device_ids is not None:
            kwargs["device_ids"] = device_ids
        super().__init__(module=module, broadcast_buffers=broadcast_buffers,
                         find_unused_parameters=find_unused_parameters, **kwargs)
        wrapped = [name for name, child in module.named_children()
                   if isinstance(child, nn.parallel.DistributedDataParallel)]
        # the runner saves ``model.module.state_dict()``: keep the keys of the unwrapped model
        # ("generator.x", not "generator.module.x"), so that checkpoints load in one process
        module._register_state_dict_hook(_strip_wrapped_prefixes(wrapped))

    @contextmanager
    def no_sync(self):
        """``no_sync`` of every wrapped child (gradient accumulation)."""
        with ExitStack() as stack:
            for child in self.module.children():
                if isinstance(child, MMDistributedDataParallel):
                    stack.enter_context(child.no_sync())
            yield


def _strip_wrapped_prefixes(names: list[str]):
    def hook(module, state_dict, prefix, local_metadata):
        for key in list(state_dict):
            for name in names:
                inner = f"{prefix}{name}.module."
                if key.startswith(inner):
                    state_dict[f"{prefix}{name}." + key[len(inner):]] = state_dict.pop(key)
                    break
        return state_dict
    return hook


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a (possibly nested) DDP wrapper, or ``module`` itself."""
    while isinstance(module, nn.parallel.DistributedDataParallel):
        module = module.module
    return module


def _overrides_train_step(module: nn.Module) -> bool:
    return isinstance(module, BaseModel) and \
        getattr(type(module).train_step, "__func__", type(module).train_step) \
        is not BaseModel.train_step


def _trainable_ids(module: nn.Module) -> frozenset[int]:
    return frozenset(id(p) for p in module.parameters() if p.requires_grad)


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


_CLOSED_KEY = "zoo/process_group_closed"


def close_process_group() -> None:
    """End a distributed run cleanly: wait for every rank, destroy the process group, and
    leave only once every rank has destroyed it.

    Without it each rank tears gloo down at interpreter exit on its own; a rank that exits
    while its peer still holds the connection can abort in gloo's background thread
    ("terminate called without an active exception", SIGABRT) after the job has finished,
    and torchrun then reports the whole run as failed.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    world = dist.get_world_size()
    store = dist.distributed_c10d._get_default_store()
    dist.barrier()
    dist.destroy_process_group()
    if world == 1:
        return
    # No rank leaves before every rank has torn gloo down: each reports through the
    # rendezvous store and waits for the others (under load, about 1 in 10 two-process CPU
    # runs still aborted at exit after barrier + destroy alone).
    try:
        done = store.add(_CLOSED_KEY, 1)
        deadline = time.monotonic() + 60.0
        while done < world and time.monotonic() < deadline:
            time.sleep(0.01)
            done = store.add(_CLOSED_KEY, 0)
    except RuntimeError:  # the store's host has left: every rank had reported
        pass
