"""CTR-GCN: Channel-wise Topology Refinement Graph Convolution (Chen, Zhang, Yuan, Li, Ding &
Hu, "Channel-wise Topology Refinement Graph Convolution for Skeleton-Based Action
Recognition", ICCV 2021).

Each block is a CTR-GC unit (one channel-wise topology per adjacency subset, summed) followed
by a multi-scale temporal convolution (two dilated 5x1 branches, a max-pool branch and a 1x1
branch, concatenated) and a residual connection. The official network has ten blocks of
64-64-64-64-128-128-128-256-256-256 channels, temporal stride 2 in blocks 5 and 8, and the
identity / inward / outward adjacency (``Graph(mode='spatial')``) as the initial, learnable
shared topology.

Sub-module names follow the official ``model/ctrgcn.py`` closely (``convs.k.conv1..4``,
``alpha``, ``down``, ``bn``, ``branches.j``, ``residual.conv/bn``) so checkpoints convert by
renaming prefixes (:mod:`zoo.converters.ctrgcn`). ``variant='pyskl'`` reproduces PYSKL's and
MMAction2's re-implementation, which differs in two places (see :class:`CTRGC` and
:class:`MultiScaleTemporalConv`), and whose NTU graph (``Graph(layout='nturgb+d')``) links the
hand tip and thumb both to the hand: the zoo layout ``ntu25_pyskl``, the pyskl variant's
default graph.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from zoo.registry import MODELS

from .graph import Graph
from .units import (
    TemporalConv,
    TemporalMaxPool,
    check_input,
    input_batchnorm,
    normalise_input,
    stage_widths,
    temporal_residual,
)

VARIANTS = ("official", "pyskl")
# each implementation's own NTU-25 graph (they differ in the hand edges, see graph.py)
DEFAULT_LAYOUT = {"official": "ntu25", "pyskl": "ntu25_pyskl"}


def _check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise ValueError(f"unknown CTR-GCN variant {variant!r}; use one of {VARIANTS}")
    return variant


class CTRGC(nn.Module):
    """Channel-wise topology refinement graph convolution for one adjacency subset.

    With ``x`` of shape ``[N, C, T, V]``: ``phi = conv1(x)``, ``psi = conv2(x)`` averaged over
    time (``[N, R, V]``); the channel-specific correlations are
    ``Q = alpha * conv4(tanh(phi_u - psi_v)) + A`` (``[N, C', V, V]``); the output is
    ``Z_u = sum_v Q_uv * conv3(x)_v`` per channel (eq. 3-6 of the paper).

    ``variant='pyskl'`` aggregates with the transposed matrix (``Z_v = sum_u Q_uv x_u``), as
    PYSKL / MMAction2 do.
    """

    def __init__(self, in_channels: int, out_channels: int, rel_reduction: int = 8,
                 variant: str = "official"):
        super().__init__()
        self.variant = _check_variant(variant)
        # official: 8 relation channels for raw 3-/9-channel input; PYSKL: for <= 16 channels
        small = in_channels <= 16 if variant == "pyskl" else in_channels in (3, 9)
        self.rel_channels = 8 if small else in_channels // rel_reduction
        if self.rel_channels < 1:
            raise ValueError(f"CTR-GC with {in_channels} input channels has no relation channel "
                             f"(in_channels // {rel_reduction} = 0); use at least "
                             f"{rel_reduction} channels or variant='pyskl'")
        self.conv1 = nn.Conv2d(in_channels, self.rel_channels, kernel_size=1)
        self.conv2 = nn.Conv2d(in_channels, self.rel_channels, kernel_size=1)
        self.conv3 = nn.Conv2d(in_channels, out_channels, kernel_size=1)
        self.conv4 = nn.Conv2d(self.rel_channels, out_channels, kernel_size=1)
        # its 8 input channels are tanh relations in [-1, 1], not coordinates: no fp32 island
        # under --amp (zoo.engine.amp; 274 / 275 MSR arg-maxes kept either way, 8 % faster)
        self.conv4.amp_bf16 = True

    def forward(self, x: torch.Tensor, A: torch.Tensor, alpha: torch.Tensor | float = 1.0,
                mean: torch.Tensor | None = None) -> torch.Tensor:
        """``mean``: ``x.mean(-2, keepdim=True)`` if already computed (the subsets of a unit
        share it)."""
        return torch.matmul(*self.value_and_topology(x, A, alpha, mean))

    def value_and_topology(self, x: torch.Tensor, A: torch.Tensor,
                           alpha: torch.Tensor | float | None = 1.0,
                           mean: torch.Tensor | None = None
                           ) -> tuple[torch.Tensor, torch.Tensor]:
        """``conv3(x)`` ``[N, C', T, V]`` and the topology ``q`` ``[N, C', V, V]`` whose
        product is the output. ``alpha=None``: already folded into ``conv4``."""
        # 1x1 convolutions commute with the mean over time: run them on the averaged input
        # (T times fewer multiply-adds than the paper's conv-then-mean; same result)
        if mean is None:
            mean = x.mean(-2, keepdim=True)
        phi, psi = self.conv1(mean).squeeze(-2), self.conv2(mean).squeeze(-2)  # [N, R, V]
        value = self.conv3(x)  # [N, C', T, V]
        # the aggregation as a batched matrix product, value @ q (PYSKL) or value @ q^T
        # (official; bit-identical to their einsums "ncuv,nctu->nctv" / "ncuv,nctv->nctu"),
        # exported as ONNX MatMul, which onnxruntime runs as batched GEMM where its Einsum
        # kernel is slow. The official q^T is built transposed (rel^T[v, u] =
        # tanh(phi_u - psi_v), A^T; conv4 is per position) so no transpose is materialised.
        if self.variant == "pyskl":
            rel = torch.tanh(phi.unsqueeze(-1) - psi.unsqueeze(-2))  # [N, R, U, V]
        else:
            rel = torch.tanh(phi.unsqueeze(-2) - psi.unsqueeze(-1))  # [N, R, V, U]
            # contiguous: broadcast over [N, C'] with a transposed 25x25 operand, the add
            # below ran several times slower than the multiply before it
            A = A.transpose(-1, -2).contiguous()
        q = self.conv4(rel)  # [N, C', V, V]
        # under bf16 autocast, stay bf16: the fp32 parameters would promote q to fp32 and
        # cost two fp32 passes plus a cast back before the matrix product (~9 % of CTR-GCN's
        # bf16 inference); a no-op in fp32
        A = A.to(q.dtype)
        if alpha is None:
            return value, q + A[None, None]
        if torch.is_tensor(alpha):
            alpha = alpha.to(q.dtype)
        return value, q * alpha + A[None, None]


class CTRGCUnit(nn.Module):
    """Sum of one :class:`CTRGC` per adjacency subset, BatchNorm, residual (1x1 conv + BN
    when the width changes) and ReLU. ``adjacency`` (``[K, V, V]``) is learnable and shared by
    the channels; ``alpha`` (initialised to 0) scales the refinement."""

    def __init__(self, in_channels: int, out_channels: int, A: torch.Tensor,
                 variant: str = "official"):
        super().__init__()
        self.adjacency = nn.Parameter(A.clone())
        self.alpha = nn.Parameter(torch.zeros(1))
        self.convs = nn.ModuleList(CTRGC(in_channels, out_channels, variant=variant)
                                   for _ in range(A.shape[0]))
        if in_channels != out_channels:
            self.down = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1),
                                      nn.BatchNorm2d(out_channels))
        else:
            self.down = nn.Identity()
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        # set by fold_for_inference_; a buffer so that .to(device) moves it, not saved
        self.register_buffer("folded_shift", None, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(-2, keepdim=True)  # one time average for all subsets (and its backward)
        if self.folded_shift is not None:
            return self._folded_forward(x, mean)
        y = sum(conv(x, self.adjacency[k], self.alpha, mean)
                for k, conv in enumerate(self.convs))
        return self.relu(self.bn(y) + self.down(x))

    @torch.no_grad()
    def fold_for_inference_(self) -> bool:
        """Inference form (eval only, for :func:`zoo.deploy.fuse_for_inference`): the
        BatchNorm after the sum of subsets is linear per channel, so its scale goes into every
        ``conv3`` (``s (V_k Q_k) = (s V_k) Q_k``) and its shift into the residual; ``alpha``
        goes into every ``conv4``. The forward then accumulates the subsets' products onto
        the residual (``baddbmm``): no sum, BatchNorm or ``alpha`` pass over the maps.
        Returns False (and changes nothing) when the unit is folded already."""
        if self.folded_shift is not None:
            return False
        if self.training:
            raise RuntimeError("fold_for_inference_ folds an eval-mode unit")
        bn = self.bn
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        for conv in self.convs:
            conv.conv3.weight.mul_(scale.view(-1, 1, 1, 1))
            conv.conv3.bias.mul_(scale)
            conv.conv4.weight.mul_(self.alpha)
            conv.conv4.bias.mul_(self.alpha)
        self.folded_shift = bn.bias - bn.running_mean * scale
        self.bn = nn.Identity()
        return True

    def _folded_forward(self, x: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        residual = self.down(x)
        acc = residual + self.folded_shift.to(residual.dtype).view(1, -1, 1, 1)
        n, c, t, v = acc.shape
        acc = acc.view(n * c, t, v)
        for k, conv in enumerate(self.convs):
            value, q = conv.value_and_topology(x, self.adjacency[k], None, mean)
            acc = torch.baddbmm(acc, value.reshape(n * c, t, v), q.reshape(n * c, v, v))
        return self.relu(acc.view(n, c, t, v))


class MultiScaleTemporalConv(nn.Module):
    """The paper's multi-scale temporal modelling: one branch per dilation (1x1 conv, BN,
    ReLU, dilated ``kernel x 1`` conv, BN), a max-pool branch (1x1 conv, BN, ReLU, 3x1
    max-pool, BN) and a 1x1 branch (strided 1x1 conv, BN), concatenated on channels.

    ``variant='pyskl'`` applies a ReLU (and optional dropout) to the concatenation and gives
    the rounding remainder of ``out_channels / branches`` to the 1x1 branch.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5,
                 stride: int = 1, dilations: Sequence[int] = (1, 2), variant: str = "official",
                 dropout: float = 0.0):
        super().__init__()
        self.variant = _check_variant(variant)
        num_branches = len(dilations) + 2
        width = out_channels // num_branches
        if variant == "official" and width * num_branches != out_channels:
            raise ValueError(f"official CTR-GCN needs out_channels ({out_channels}) divisible by "
                             f"the {num_branches} temporal branches")
        last = out_channels - width * (num_branches - 1)

        def entry(channels: int) -> list[nn.Module]:
            return [nn.Conv2d(in_channels, channels, 1), nn.BatchNorm2d(channels),
                    nn.ReLU(inplace=True)]

        branches = [nn.Sequential(*entry(width),
                                  TemporalConv(width, width, kernel_size, stride, d))
                    for d in dilations]
        branches.append(nn.Sequential(*entry(width),
                                      TemporalMaxPool(3, stride),
                                      nn.BatchNorm2d(width)))
        branches.append(nn.Sequential(nn.Conv2d(in_channels, last, 1, stride=(stride, 1)),
                                      nn.BatchNorm2d(last)))
        self.branches = nn.ModuleList(branches)
        self.out = (nn.Sequential(nn.ReLU(inplace=True), nn.Dropout(dropout))
                    if variant == "pyskl" else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.cat([branch(x) for branch in self.branches], dim=1))


class CTRGCNBlock(nn.Module):
    """CTR-GC unit, multi-scale temporal conv, block residual (identity or strided 1x1 conv +
    BN), ReLU."""

    def __init__(self, in_channels: int, out_channels: int, A: torch.Tensor, stride: int = 1,
                 residual: bool = True, kernel_size: int = 5, dilations: Sequence[int] = (1, 2),
                 variant: str = "official", dropout: float = 0.0):
        super().__init__()
        self.gcn = CTRGCUnit(in_channels, out_channels, A, variant)
        self.tcn = MultiScaleTemporalConv(out_channels, out_channels, kernel_size, stride,
                                          dilations, variant, dropout)
        self.residual = temporal_residual(in_channels, out_channels, stride, residual)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn(self.gcn(x))
        if self.residual is not None:
            y = y + self.residual(x)
        return self.relu(y)


@MODELS.register_module()
class CTRGCN(nn.Module):
    """CTR-GCN backbone (Chen et al., ICCV 2021).

    Args:
        graph_cfg: ``Graph`` arguments; the paper uses ``mode='spatial'`` (I / inward /
            outward), which initialises every block's learnable ``adjacency``. Default: the
            NTU-25 graph of the variant (``ntu25`` official, ``ntu25_pyskl`` PYSKL).
        in_channels: coordinates per joint.
        base_channels / num_stages / inflate_stages / down_stages: width of block 1, number of
            blocks, 1-based blocks that double the width / halve T (official: 64, 10, (5, 8),
            (5, 8)).
        num_person: M; the input BatchNorm normalises each (person, joint, coordinate) as the
            official ``data_bn`` (``BatchNorm1d(M * V * C)``).
        kernel_size / dilations: temporal branches (official 5 and (1, 2)).
        variant: ``'official'`` (Uason-Chen/CTR-GCN) or ``'pyskl'`` (PYSKL / MMAction2).
        dropout: dropout after the temporal convolution (``'pyskl'`` only, not block 1).

    Input ``[N, M, T, V, C]``; output ``[N, M, C_out, T_out, V]``.
    """

    def __init__(self, graph_cfg: dict | None = None, in_channels: int = 3,
                 base_channels: int = 64, num_stages: int = 10,
                 inflate_stages: Sequence[int] = (5, 8), down_stages: Sequence[int] = (5, 8),
                 num_person: int = 2, kernel_size: int = 5, dilations: Sequence[int] = (1, 2),
                 variant: str = "official", dropout: float = 0.0):
        super().__init__()
        _check_variant(variant)
        if dropout and variant != "pyskl":
            raise ValueError("the official CTR-GCN has no temporal dropout; use variant='pyskl'")
        graph_cfg = dict(graph_cfg or dict(layout=DEFAULT_LAYOUT[variant], mode="spatial"))
        self.graph = Graph(**graph_cfg)
        A = torch.tensor(self.graph.A, dtype=torch.float32)
        self.num_joints = A.shape[1]
        self.in_channels = in_channels
        self.num_person = num_person
        self.variant = variant
        self.data_bn = input_batchnorm(True, in_channels, self.num_joints, num_person)

        blocks, prev = [], in_channels
        for i, channels in enumerate(stage_widths(base_channels, num_stages, inflate_stages), 1):
            blocks.append(CTRGCNBlock(prev, channels, A, stride=2 if i in down_stages else 1,
                                      residual=i > 1, kernel_size=kernel_size,
                                      dilations=dilations, variant=variant,
                                      dropout=dropout if i > 1 else 0.0))
            prev = channels
        self.layers = nn.ModuleList(blocks)
        self.out_channels = prev
        self.init_weights()

    def init_weights(self) -> None:
        """The official initialisation: Kaiming (fan-out) convolutions with zero bias, unit
        BatchNorms (N(1, 0.02) inside the temporal convolutions), and ~0 (1e-6) for the
        BatchNorm closing each CTR-GC unit."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for block in self.layers:
            for m in block.tcn.modules():
                if isinstance(m, nn.BatchNorm2d):
                    nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.constant_(block.gcn.bn.weight, 1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, m = x.shape[:2]
        check_input(x, "CTR-GCN", self.graph.layout.name, self.num_joints, self.in_channels,
                    self.num_person)
        x = normalise_input(x, self.data_bn, per_person=True)
        for block in self.layers:
            x = block(x)
        return x.reshape(n, m, *x.shape[1:])
