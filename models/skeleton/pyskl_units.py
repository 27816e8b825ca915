"""Graph and temporal units of the ST-GCN family as re-implemented by PYSKL (Duan et al.,
"PYSKL: Towards Good Practices for Skeleton Action Recognition", ACM MM 2022) and MMAction2 1.x.

* :class:`AdaptiveGraphConv` — the spatial graph convolution of ST-GCN (Yan et al., AAAI 2018)
  ``y = act(BN(sum_k W_k x A_k) [+ down(x)])`` with the adjacency made learnable in one of three
  ways (``adaptive``): ``'importance'`` (``A * PA``, PA initialised to ones; the paper's edge
  importance), ``'offset'`` (``A + PA``, PA ~ U(-1e-6, 1e-6)) or ``'init'`` (A itself is a
  parameter); ``None`` keeps A fixed. ``conv_pos='post'`` aggregates first and convolves the
  ``K * C`` stacked result instead.
* :class:`TemporalUnit` — a ``kernel x 1`` temporal convolution, BatchNorm and dropout.
* :class:`MultiScaleTemporal` — STGCN++'s multi-scale temporal module: parallel branches
  (dilated ``k x 1`` convolutions, a max-pool branch and a strided 1x1 branch), concatenated,
  then BN-ReLU-1x1 conv, BN and dropout.

Sub-module names match PYSKL's ``unit_gcn`` / ``unit_tcn`` / ``mstcn`` (``A``, ``PA``, ``conv``,
``bn``, ``down``, ``branches``, ``transform``) so that checkpoints convert by renaming block
prefixes only (:mod:`zoo.converters.stgcn_pyskl`).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .ctrgcn import TemporalConv

ADAPTIVE_MODES = (None, "init", "offset", "importance")
DEFAULT_MS_CFG = ((3, 1), (3, 2), (3, 3), (3, 4), ("max", 3), "1x1")


class AdaptiveGraphConv(nn.Module):
    """Spatial graph convolution with a learnable adjacency (PYSKL's ``unit_gcn``).

    Args:
        in_channels / out_channels: feature widths.
        A: adjacency partitions ``[K, V, V]`` (copied).
        adaptive: ``'importance'``, ``'offset'``, ``'init'`` or ``None`` (see the module doc).
        conv_pos: ``'pre'`` (1x1 conv to ``K * out`` channels, then ``sum_k X_k A_k``) or
            ``'post'`` (aggregate per subset, then 1x1 conv from ``K * in`` channels).
        with_res: add a residual inside the unit (1x1 conv + BN when the width changes).

    Input / output ``[N, C, T, V]``.
    """

    def __init__(self, in_channels: int, out_channels: int, A: torch.Tensor,
                 adaptive: str | None = "importance", conv_pos: str = "pre",
                 with_res: bool = False):
        super().__init__()
        if adaptive not in ADAPTIVE_MODES:
            raise ValueError(f"unknown gcn adaptive mode {adaptive!r}; use one of "
                             f"{ADAPTIVE_MODES}")
        if conv_pos not in ("pre", "post"):
            raise ValueError(f"unknown gcn conv_pos {conv_pos!r}; use 'pre' or 'post'")
        if A.dim() != 3 or A.shape[1] != A.shape[2]:
            raise ValueError(f"adjacency must be [K, V, V], got {tuple(A.shape)}")
        self.adaptive, self.conv_pos = adaptive, conv_pos
        self.num_subsets = A.shape[0]
        if adaptive == "init":
            self.A = nn.Parameter(A.clone())
        else:
            self.register_buffer("A", A.clone())
        if adaptive == "importance":
            self.PA = nn.Parameter(torch.ones_like(A))
        elif adaptive == "offset":
            self.PA = nn.Parameter(torch.empty_like(A).uniform_(-1e-6, 1e-6))
        if conv_pos == "pre":
            self.conv = nn.Conv2d(in_channels, out_channels * self.num_subsets, 1)
        else:
            self.conv = nn.Conv2d(in_channels * self.num_subsets, out_channels, 1)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU()
        if not with_res:
            self.down = None
        elif in_channels != out_channels:
            self.down = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1),
                                      nn.BatchNorm2d(out_channels))
        else:
            self.down = nn.Identity()

    def adjacency(self) -> torch.Tensor:
        """The adjacency used in the forward pass (``[K, V, V]``)."""
        if self.adaptive == "importance":
            return self.A * self.PA
        if self.adaptive == "offset":
            return self.A + self.PA
        return self.A

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, v = x.shape
        A = self.adjacency()
        if self.conv_pos == "pre":
            y = self.conv(x).view(n, self.num_subsets, -1, t, v)
            y = torch.einsum("nkctv,kvw->nctw", y, A)
        else:
            y = torch.einsum("nctv,kvw->nkctw", x, A).reshape(n, -1, t, v)
            y = self.conv(y)
        y = self.bn(y)
        if self.down is not None:
            y = y + self.down(x)
        return self.act(y)


class TemporalUnit(TemporalConv):
    """CTR-GCN's temporal convolution + BatchNorm with PYSKL's ``unit_tcn`` options: the
    BatchNorm can be left out (``norm=False``) and dropout follows. Same parameter names, so
    the two load each other's weights. Input / output ``[N, C, T, V]``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 9,
                 stride: int = 1, dilation: int = 1, norm: bool = True, dropout: float = 0.0):
        super().__init__(in_channels, out_channels, kernel_size, stride, dilation)
        if not norm:
            self.bn = nn.Identity()
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(super().forward(x))


def _branch(in_channels: int, channels: int, cfg, stride: int) -> nn.Module:
    if cfg == "1x1":
        return nn.Conv2d(in_channels, channels, 1, stride=(stride, 1))
    if not (isinstance(cfg, Sequence) and len(cfg) == 2):
        raise ValueError(f"multi-scale TCN branch must be '1x1', ('max', k) or "
                         f"(kernel, dilation), got {cfg!r}")
    entry = [nn.Conv2d(in_channels, channels, 1), nn.BatchNorm2d(channels), nn.ReLU()]
    if cfg[0] == "max":
        k = int(cfg[1])
        return nn.Sequential(*entry, nn.MaxPool2d((k, 1), (stride, 1), ((k - 1) // 2, 0)))
    kernel, dilation = int(cfg[0]), int(cfg[1])
    return nn.Sequential(*entry, TemporalUnit(channels, channels, kernel, stride, dilation,
                                              norm=False))


class MultiScaleTemporal(nn.Module):
    """Multi-scale temporal convolution of STGCN++ (PYSKL's ``mstcn``).

    Branches follow ``ms_cfg`` (default: ``k=3`` with dilations 1-4, a 3x1 max-pool branch and
    a 1x1 branch); each gets ``out_channels // branches`` channels, the first one also the
    remainder (or ``int(mid_channels * out_channels)`` each when ``mid_channels`` is a
    fraction). The concatenation goes through BN, ReLU and a 1x1 conv to ``out_channels``, then
    BN and dropout. Input / output ``[N, C, T, V]`` (T divided by ``stride``).
    """

    def __init__(self, in_channels: int, out_channels: int, mid_channels: float | None = None,
                 dropout: float = 0.0, ms_cfg: Sequence = DEFAULT_MS_CFG, stride: int = 1):
        super().__init__()
        num_branches = len(ms_cfg)
        if mid_channels is None:
            mid = out_channels // num_branches
            first = out_channels - mid * (num_branches - 1)
        else:
            if not (isinstance(mid_channels, float) and mid_channels > 0):
                raise ValueError(f"mid_channels must be a positive fraction, got {mid_channels!r}")
            mid = first = int(out_channels * mid_channels)
        self.branches = nn.ModuleList(
            _branch(in_channels, first if i == 0 else mid, cfg, stride)
            for i, cfg in enumerate(ms_cfg))
        total = first + mid * (num_branches - 1)
        self.transform = nn.Sequential(nn.BatchNorm2d(total), nn.ReLU(),
                                       nn.Conv2d(total, out_channels, 1))
        self.bn = nn.BatchNorm2d(out_channels)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([branch(x) for branch in self.branches], dim=1)
        return self.drop(self.bn(self.transform(y)))
