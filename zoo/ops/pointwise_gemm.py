"""1x1 convolutions computed as batched matrix products.

A 1x1 ``Conv2d`` (no padding, no groups, no dilation) on an NCHW activation is, per sample,
the matrix product ``W [C_out, C_in] @ x [C_in, H * W]``. On this CPU oneDNN's NCHW 1x1
convolution is slower than that product in bf16 on most of the skeleton GCNs' shapes (the
convolution takes 0.94-2.9x the product's time, fp32 0.8-1.5x;
``benchmarks/results/inference_rewrites.md``), and the GCNs are full of them:
CTR-GC's value / relation / refinement maps, the temporal branches' entries, the residual
maps.
:func:`pointwise_as_gemm` swaps them for :class:`PointwiseGemmConv2d`, which
:func:`zoo.deploy.fuse.fuse_for_inference` does after folding the BatchNorms, and
``tools/train.py --pointwise-gemm`` (:class:`zoo.engine.pointwise_gemm.PointwiseGemmHook`) for
training, where the product's backward (two more products) also beats the convolution's in
bf16 (CTR-GCN's bf16 training step 1.06x in ``benchmarks/results/skeleton_speed_modes.md``,
1.15x in a development A/B; in fp32 it is no faster).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from zoo.ops.memory_format import stored_channels_last


class PointwiseGemmConv2d(nn.Conv2d):
    """A 1x1 ``nn.Conv2d`` whose forward is ``baddbmm(bias, W, x)`` over the samples (the
    bias added inside the product); a stride subsamples the input first. Same parameters and
    state-dict keys as the convolution it replaces.

    It stays a convolution where the product does not pay or does not apply: inputs stored
    channels last (oneDNN's NHWC convolution is already one GEMM), and ONNX export (a ``Conv``
    is what onnxruntime's kernels and int8 quantiser expect).
    """

    @classmethod
    def from_conv(cls, conv: nn.Conv2d) -> PointwiseGemmConv2d:
        if not is_pointwise(conv):
            raise ValueError(f"not a 1x1 convolution without padding, groups or dilation: "
                             f"{conv}")
        new = cls(conv.in_channels, conv.out_channels, 1, conv.stride,
                  bias=conv.bias is not None, device="meta")
        new.weight, new.bias = conv.weight, conv.bias
        for key, value in vars(conv).items():  # attributes set on it, e.g. ``amp_bf16``
            if not key.startswith("_") and key not in vars(new):
                setattr(new, key, value)
        return new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export() or x.dim() != 4 or stored_channels_last(x):
            return F.conv2d(x, self.weight, self.bias, self.stride)
        if self.stride != (1, 1):
            x = x[:, :, ::self.stride[0], ::self.stride[1]]
        n, c, h, w = x.shape
        weight = self.weight.view(1, self.out_channels, c).expand(n, -1, -1)
        flat = x.reshape(n, c, h * w)
        if self.bias is None:
            y = torch.bmm(weight, flat)
        else:
            y = torch.baddbmm(self.bias.view(1, -1, 1), weight, flat)
        return y.view(n, self.out_channels, h, w)


def is_pointwise(module: nn.Module) -> bool:
    """Whether ``module`` is a plain ``nn.Conv2d`` with a 1x1 kernel, no padding, one group
    and no dilation (any stride)."""
    return (type(module) is nn.Conv2d and module.kernel_size == (1, 1)
            and module.padding in ((0, 0), "valid") and module.groups == 1
            and module.dilation == (1, 1))


def pointwise_as_gemm(model: nn.Module) -> list[str]:
    """Replace, in place, every :func:`is_pointwise` convolution of ``model`` by a
    :class:`PointwiseGemmConv2d` sharing its parameters; returns the replaced names."""
    names = [name for name, m in model.named_modules() if is_pointwise(m)]
    for name in names:
        replace_module(model, name, PointwiseGemmConv2d.from_conv(model.get_submodule(name)))
    return names


def replace_module(model: nn.Module, name: str, new: nn.Module) -> None:
    """Put ``new`` where ``model.get_submodule(name)`` is."""
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, new)
