"""Fold inference-mode BatchNorm layers into the convolutions that feed them.

In eval mode ``BN(conv(x)) = s * (W x + b - mu) + beta`` with ``s = gamma / sqrt(var + eps)``
per output channel, which is one convolution with weights ``s W`` and bias
``s (b - mu) + beta`` (Jacob et al., "Quantization and Training of Neural Networks for
Efficient Integer-Arithmetic-Only Inference", CVPR 2018, sec. 3.2). Folding removes a full
pass over every folded activation.

The pairs are found by running the model once and watching every tensor operation
(``TorchFunctionMode``), not from module names, so the pass is generic over Conv1d / Conv2d /
Conv3d + BatchNorm1d / 2d / 3d wherever the convolution's output goes straight and only into
the BatchNorm: an output that is viewed, modified in place, or used by anything else keeps
its BatchNorm. The fused copy is checked against the original on the example input.
"""
from __future__ import annotations

import copy
from collections import Counter

import torch
from torch import nn
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode

from zoo.ops.pointwise_gemm import pointwise_as_gemm, replace_module

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
_CONV_FUNCS = {F.conv1d, F.conv2d, F.conv3d}
# calls that read only a tensor's metadata, not its values: not a use of the data
_METADATA = {"__get__", "dim", "size", "numel", "ndimension", "nelement", "stride",
             "is_contiguous", "is_floating_point", "get_device", "element_size", "__len__",
             "data_ptr"}


class _Recorder(TorchFunctionMode):
    """Records, for one forward pass, which convolution produced which tensor and every use
    of each tensor's values."""

    def __init__(self, convs: dict[int, nn.Module], norms: dict[int, nn.Module]):
        super().__init__()
        self.convs, self.norms = convs, norms
        self.produced: dict[int, tuple[nn.Module, torch.Tensor, int]] = {}
        self.uses: Counter = Counter()
        self.norm_inputs: list[tuple[nn.Module, torch.Tensor, int]] = []
        self.calls: Counter = Counter()
        self.seen: list[torch.Tensor] = []  # kept alive so that no id() is reused

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if getattr(func, "__name__", "") not in _METADATA:
            for value in [*args, *kwargs.values()]:
                if isinstance(value, torch.Tensor):
                    self.uses[id(value)] += 1
                    self.seen.append(value)
        out = func(*args, **kwargs)
        if func in _CONV_FUNCS and id(args[1]) in self.convs:
            conv = self.convs[id(args[1])]
            self.calls[id(conv)] += 1
            self.produced[id(out)] = (conv, out, out._version)
        elif func is F.batch_norm and id(args[1]) in self.norms:
            norm = self.norms[id(args[1])]
            self.calls[id(norm)] += 1
            self.norm_inputs.append((norm, args[0], args[0]._version))
        return out


def _fold(conv: nn.Module, norm: nn.Module) -> None:
    scale = norm.weight.detach() if norm.affine else torch.ones_like(norm.running_var)
    scale = scale / torch.sqrt(norm.running_var + norm.eps)
    shift = norm.bias.detach() if norm.affine else torch.zeros_like(norm.running_mean)
    bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(norm.running_mean)
    with torch.no_grad():
        conv.weight.mul_(scale.reshape(-1, *([1] * (conv.weight.dim() - 1))))
        new_bias = (bias - norm.running_mean) * scale + shift
        if conv.bias is None:
            conv.bias = nn.Parameter(new_bias)
        else:
            conv.bias.copy_(new_bias)


def find_conv_bn_pairs(model: nn.Module, *example_inputs) -> list[tuple[str, str]]:
    """Names of the (convolution, BatchNorm) module pairs that can be folded: the BatchNorm's
    only input is the untouched output of the convolution, each runs once per forward and the
    BatchNorm uses running statistics (eval mode)."""
    names = {id(m): name for name, m in model.named_modules()}
    convs = {id(m.weight): m for m in model.modules()
             if isinstance(m, _CONVS) and m.padding_mode == "zeros"}
    norms = {id(m.running_mean): m for m in model.modules()
             if isinstance(m, _NORMS) and m.running_mean is not None}
    recorder = _Recorder(convs, norms)
    model.eval()
    with torch.no_grad(), recorder:
        model(*example_inputs)
    pairs = []
    for norm, tensor, version in recorder.norm_inputs:
        produced = recorder.produced.get(id(tensor))
        if produced is None or produced[1] is not tensor:
            continue
        conv = produced[0]
        if (version == produced[2] == tensor._version and recorder.uses[id(tensor)] == 1
                and recorder.calls[id(conv)] == 1 and recorder.calls[id(norm)] == 1
                and conv.out_channels == norm.num_features):
            pairs.append((names[id(conv)], names[id(norm)]))
    return pairs


@torch.no_grad()
def fuse_for_inference(model: nn.Module, *example_inputs, rtol: float = 1e-4,
                       pointwise_gemm: bool = True, module_folds: bool = True) -> nn.Module:
    """An eval-mode copy of ``model`` with every foldable BatchNorm folded into the
    convolution before it (and replaced by ``nn.Identity``); with ``module_folds``, every
    sub-module that knows a cheaper inference form of itself (a ``fold_for_inference_()``
    method returning whether it folded, e.g. CTR-GCN's unit, whose BatchNorm follows a sum of
    matrix products) is folded too (names in ``module_folds``); with ``pointwise_gemm``,
    every 1x1 convolution is computed as a batched matrix product
    (:func:`zoo.ops.pointwise_gemm.pointwise_as_gemm`; names in ``pointwise_gemm``).

    ``example_inputs`` are run once to find the pairs (:func:`find_conv_bn_pairs`) and again to
    check the copy: its output must match the original's within ``rtol`` times the output's
    largest magnitude (fp32 rounding of the folded weights; 1e-4 is ~100x what the zoo's
    skeleton backbones show), else ``RuntimeError``. The copy has ``fused_pairs`` (the folded
    module names). Only for inference: the folded model must not be trained further.
    """
    fused = copy.deepcopy(model).eval()
    pairs = find_conv_bn_pairs(fused, *example_inputs)
    for conv_name, norm_name in pairs:
        _fold(fused.get_submodule(conv_name), fused.get_submodule(norm_name))
        replace_module(fused, norm_name, nn.Identity())
    fused.fused_pairs = pairs
    fused.module_folds = []
    if module_folds:  # fold_for_inference_() returns whether it folded (False: done before)
        for name, module in fused.named_modules():
            fold = getattr(module, "fold_for_inference_", None)
            if callable(fold) and fold():
                fused.module_folds.append(name)
    fused.pointwise_gemm = pointwise_as_gemm(fused) if pointwise_gemm else []
    model_was_training = model.training
    model.eval()
    reference, output = model(*example_inputs), fused(*example_inputs)
    model.train(model_was_training)
    scale = reference.abs().max().clamp_min(1e-12)
    error = (reference - output).abs().max()
    if error > rtol * scale:
        raise RuntimeError(f"fuse_for_inference: the fused model differs from the original by "
                           f"{error:.3g} (> {rtol} x max |output| {scale:.3g}); "
                           f"folded pairs: {pairs}")
    return fused
