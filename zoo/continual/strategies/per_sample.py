"""Per-sample gradients of a per-sample loss, for Fisher and importance estimates.

Two ways to the same numbers:

* :func:`torch.func.vmap` over ``grad`` of a one-sample forward (any model; each sample is its
  own batch of one);
* one batched forward and backward, from which every layer's per-sample weight gradient is
  rebuilt from its input and its output gradient (the approach of Goodfellow, "Efficient
  Per-Example Gradient Computations", arXiv 1510.01799, 2015, as in Opacus and BackPACK):
  a linear layer's is the outer product ``delta_i^T a_i`` summed over positions, a
  convolution's the same over the unfolded input patches, an eval-mode BatchNorm's
  ``sum(delta_i * x_hat_i)`` and ``sum(delta_i)``.

The batched way is used when every trainable parameter belongs to a layer it knows
(``nn.Linear``, ``nn.Conv1d`` / ``nn.Conv2d`` with zero padding, BatchNorm in eval mode) and
the samples of the batch do not interact (no train-mode BatchNorm); otherwise the vmap way,
and also when a layer's input is changed in place after the layer read it or when the
per-sample gradients do not add up to the batch gradient (a parameter used outside its
layer's forward). On split digits'
SmallCNN the batched way is 2.75x faster (``benchmarks/results/continual_hot_paths.md``);
tests check that both ways agree.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap
from torch.nn.modules.batchnorm import _BatchNorm

# (outputs [n, ...], targets [n] or None) -> per-sample losses [n]
SampleLoss = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]


def nll_loss(outputs: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor:
    """``-log p(target | x)`` per sample."""
    return F.cross_entropy(outputs, targets, reduction="none")


def squared_norm_loss(outputs: torch.Tensor, targets: torch.Tensor | None = None
                      ) -> torch.Tensor:
    """``||f(x)||_2^2`` per sample (MAS)."""
    return (outputs ** 2).flatten(1).sum(1)


def _vmap_grads(model: nn.Module, names: list[str], inputs: torch.Tensor,
                targets: torch.Tensor | None, loss: SampleLoss) -> dict[str, torch.Tensor]:
    params = {n: p.detach() for n, p in model.named_parameters() if n in names}
    buffers = {n: b.detach() for n, b in model.named_buffers()}

    def one(p, x, y):
        out = functional_call(model, (p, buffers), (x[None],))
        return loss(out, None if y is None else y[None])[0]

    return vmap(grad(one), in_dims=(None, 0, None if targets is None else 0))(
        params, inputs, targets)


def _supported(module: nn.Module) -> bool:
    if isinstance(module, nn.Linear):
        return True
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        return (module.groups == 1 and module.padding_mode == "zeros"
                and not isinstance(module.padding, str))
    if isinstance(module, _BatchNorm):  # eval mode with running statistics: per sample
        return (not module.training and module.track_running_stats
                and module.running_mean is not None)
    return False


def _owners(model: nn.Module, names: list[str]) -> dict[str, tuple[nn.Module, str]] | None:
    """``{parameter name: (layer, 'weight' | 'bias')}`` when every parameter in ``names``
    belongs to a layer the batched way knows, else ``None``."""
    owners = {}
    for prefix, module in model.named_modules():
        for local, _ in module.named_parameters(recurse=False):
            full = f"{prefix}.{local}" if prefix else local
            if full not in names:
                continue
            if not _supported(module) or local not in ("weight", "bias"):
                return None
            owners[full] = (module, local)
    return owners if len(owners) == len(names) else None


def _layer_grads(module: nn.Module, a: torch.Tensor, d: torch.Tensor
                 ) -> dict[str, torch.Tensor]:
    """Per-sample ``weight`` / ``bias`` gradients of ``module`` from its input ``a`` and the
    gradient ``d`` of the summed loss at its output (both ``[n, ...]``)."""
    n = a.shape[0]
    if isinstance(module, nn.Linear):
        a2, d2 = a.reshape(n, -1, a.shape[-1]), d.reshape(n, -1, d.shape[-1])
        return {"weight": d2.transpose(1, 2) @ a2, "bias": d2.sum(1)}
    if isinstance(module, _BatchNorm):
        shape = (1, -1) + (1,) * (a.dim() - 2)
        x_hat = ((a - module.running_mean.view(shape))
                 * torch.rsqrt(module.running_var.view(shape) + module.eps))
        return {"weight": (d * x_hat).reshape(n, a.shape[1], -1).sum(-1),
                "bias": d.reshape(n, a.shape[1], -1).sum(-1)}
    if isinstance(module, nn.Conv1d):  # as a 2-D convolution of height 1
        a, d = a.unsqueeze(2), d.unsqueeze(2)
        kernel, dilation = (1, *module.kernel_size), (1, *module.dilation)
        padding, stride = (0, *module.padding), (1, *module.stride)
    else:
        kernel, dilation = module.kernel_size, module.dilation
        padding, stride = module.padding, module.stride
    patches = F.unfold(a, kernel, dilation=dilation, padding=padding, stride=stride)
    d2 = d.reshape(n, d.shape[1], -1)
    return {"weight": (d2 @ patches.transpose(1, 2)).reshape(n, *module.weight.shape),
            "bias": d2.sum(-1)}


def _max_abs(t: torch.Tensor) -> float:
    low, high = t.aminmax()  # no |t| temporary: a [chunk, *shape] copy costs page faults
    return max(-float(low), float(high))


def _adds_up(per_sample: torch.Tensor, batch: torch.Tensor) -> bool:
    """Whether per-sample gradients sum to the batch gradient, up to float rounding."""
    scale = _max_abs(per_sample) + _max_abs(batch) + 1e-30
    return _max_abs(per_sample.sum(0) - batch) <= 1e-3 * scale


def _batched_grads(model: nn.Module, owners: dict[str, tuple[nn.Module, str]],
                   inputs: torch.Tensor, targets: torch.Tensor | None, loss: SampleLoss
                   ) -> dict[str, torch.Tensor] | None:
    """The per-sample gradients from one batched pass, or ``None`` when they cannot be
    trusted: a layer's input changed in place after the layer read it, or the per-sample
    gradients of a parameter do not sum to its batch gradient (the parameter is also used
    outside its layer's forward, e.g. ``F.linear(x, layer.weight)`` in a cosine head)."""
    layers = list(dict.fromkeys(module for module, _ in owners.values()))
    calls: list[tuple[nn.Module, torch.Tensor, int, torch.Tensor]] = []

    def capture(module, args, output):
        calls.append((module, args[0], args[0]._version, output))
        return output.clone()  # in-place ops downstream change the copy, not `output`

    checked = {name: getattr(module, local) for name, (module, local) in owners.items()
               if getattr(module, local).requires_grad}
    handles = [layer.register_forward_hook(capture) for layer in layers]
    try:
        with torch.enable_grad():
            # the input asks for gradients so that there is a graph whatever the parameters
            # ask; autograd.grad then computes only what leads to the requested tensors
            x = inputs.detach().requires_grad_(True)
            total = loss(model(x), targets).sum()
            wanted = [out for *_, out in calls] + list(checked.values())
            found = torch.autograd.grad(total, wanted, allow_unused=True) if wanted else ()
    finally:
        for handle in handles:
            handle.remove()
    if any(a._version != version for _, a, version, _ in calls):
        return None
    deltas, batch_grads = found[:len(calls)], dict(zip(checked, found[len(calls):]))
    sums: dict[tuple[int, str], torch.Tensor] = {}
    with torch.no_grad():
        for (module, a, *_), d in zip(calls, deltas):
            if d is None:
                continue
            for local, g in _layer_grads(module, a, d).items():
                if getattr(module, local, None) is None:
                    continue
                key = (id(module), local)
                sums[key] = sums[key] + g if key in sums else g
        grads = {}
        for name, (module, local) in owners.items():
            key = (id(module), local)  # a layer the loss does not depend on: zero gradients
            grads[name] = sums[key] if key in sums else inputs.new_zeros(
                (len(inputs), *getattr(module, local).shape))
            reference = batch_grads.get(name)
            if reference is None:
                reference = torch.zeros_like(grads[name][0])
            if not _adds_up(grads[name], reference):
                return None
    return grads


def per_sample_grads(model: nn.Module, names: list[str], inputs: torch.Tensor,
                     targets: torch.Tensor | None = None, loss: SampleLoss = nll_loss,
                     batched: bool = True) -> dict[str, torch.Tensor]:
    """``{name: [N, *shape]}``: the gradient of ``loss(model(x_i), y_i)`` for every sample,
    w.r.t. the parameters ``names`` (model in its current mode). ``batched=False`` forces the
    vmap way."""
    owners = _owners(model, names) if batched else None
    if owners is not None and not any(isinstance(m, _BatchNorm) and m.training
                                      for m in model.modules()):
        grads = _batched_grads(model, owners, inputs, targets, loss)
        if grads is not None:
            return grads
    return _vmap_grads(model, names, inputs, targets, loss)
