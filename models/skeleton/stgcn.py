"""ST-GCN: Spatial Temporal Graph Convolutional Networks (Yan, Xiong & Lin, AAAI 2018).

The module layout follows the official ``net/st_gcn.py`` (sub-module names ``gcn.conv``,
``tcn.0/2/3``, ``residual.0/1``, ``edge_importance``), so an official checkpoint converts by
renaming prefixes (``zoo.converters.stgcn``). Width and depth are configurable as in PYSKL
(``base_channels``, ``num_stages``, ``inflate_stages``, ``down_stages``); the defaults are the
paper's ten blocks of 64-64-64-64-128-128-128-256-256-256 channels.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from zoo.ops.memory_format import stored_channels_last
from zoo.registry import MODELS

from .graph import Graph
from .units import (
    FastDropout,
    aggregate_subsets,
    aggregate_subsets_channels_last,
    check_input,
    input_batchnorm,
    normalise_input,
    stage_widths,
)


class GraphConv(nn.Module):
    """Spatial graph convolution: a 1x1 conv to ``K`` partitions, then ``sum_k X_k A_k``
    (in channels-last memory when the input is stored so)."""

    def __init__(self, in_channels: int, out_channels: int, num_subsets: int):
        super().__init__()
        self.num_subsets = num_subsets
        self.conv = nn.Conv2d(in_channels, out_channels * num_subsets, kernel_size=1)

    def forward(self, x: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if stored_channels_last(y) and not torch.onnx.is_in_onnx_export():
            return aggregate_subsets_channels_last(y, A)
        n, _, t, v = x.shape
        return aggregate_subsets(y.view(n, self.num_subsets, -1, t, v), A)


class STGCNBlock(nn.Module):
    """Graph convolution, temporal convolution (9x1) and a residual connection."""

    def __init__(self, in_channels: int, out_channels: int, num_subsets: int, stride: int = 1,
                 residual: bool = True, dropout: float = 0.0, temporal_kernel: int = 9,
                 fast_dropout: bool = False):
        super().__init__()
        pad = (temporal_kernel - 1) // 2
        self.gcn = GraphConv(in_channels, out_channels, num_subsets)
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, (temporal_kernel, 1), (stride, 1), (pad, 0)),
            nn.BatchNorm2d(out_channels),
            FastDropout(dropout) if fast_dropout else nn.Dropout(dropout),
        )
        if not residual:
            self.residual = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=(stride, 1)),
                nn.BatchNorm2d(out_channels),
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
        res = 0 if self.residual is None else self.residual(x)
        return self.relu(self.tcn(self.gcn(x, A)) + res)


@MODELS.register_module()
class STGCN(nn.Module):
    """ST-GCN backbone.

    Args:
        graph_cfg: ``Graph`` arguments (layout and partition mode).
        in_channels: coordinates per joint (3 for 3-D, 2 or 3 with score for 2-D).
        base_channels: width of the first stage.
        num_stages: number of ST-GCN blocks.
        inflate_stages / down_stages: 1-based blocks that double the width / halve T.
        data_bn: batch-normalise the raw input per (joint, coordinate), as the paper.
        edge_importance: learnable mask on the adjacency of each block.
        dropout: dropout inside the temporal convolution (all blocks but the first).
        fast_dropout: draw that dropout's mask with ``units.fast_dropout`` (same distribution,
            a quarter of ``nn.Dropout``'s CPU cost for the draw; another random stream, so
            off by default: runs made with ``nn.Dropout`` stay reproducible).
        channels_last: run the blocks on activations stored channels last (NHWC): oneDNN's
            CPU convolutions are faster on them (the 1x1 ones up to 1.6x in bf16) and the
            graph aggregation needs no permute (``units.aggregate_subsets_channels_last``);
            the same function up to the order of the sums, so off by default for the
            reproducibility of runs made without it (``docs/speed.md``).

    Input ``[N, M, T, V, C]``; output ``[N, M, C_out, T_out, V]``.
    """

    def __init__(self, graph_cfg: dict | None = None, in_channels: int = 3,
                 base_channels: int = 64, num_stages: int = 10,
                 inflate_stages: Sequence[int] = (5, 8), down_stages: Sequence[int] = (5, 8),
                 data_bn: bool = True, edge_importance: bool = True, dropout: float = 0.0,
                 temporal_kernel: int = 9, fast_dropout: bool = False,
                 channels_last: bool = False):
        super().__init__()
        self.channels_last = channels_last
        graph_cfg = dict(graph_cfg or dict(layout="ntu25", mode="stgcn_spatial"))
        self.graph = Graph(**graph_cfg)
        self.register_buffer("A", torch.tensor(self.graph.A, dtype=torch.float32))
        num_subsets, num_joints = self.A.shape[0], self.A.shape[1]
        self.in_channels = in_channels
        self.data_bn = input_batchnorm(False if data_bn else None, in_channels, num_joints)

        blocks, prev = [], in_channels
        for i, channels in enumerate(stage_widths(base_channels, num_stages, inflate_stages), 1):
            stride = 2 if i in down_stages else 1
            blocks.append(STGCNBlock(prev, channels, num_subsets, stride, residual=i > 1,
                                     dropout=dropout if i > 1 else 0.0,
                                     temporal_kernel=temporal_kernel,
                                     fast_dropout=fast_dropout))
            prev = channels
        self.layers = nn.ModuleList(blocks)
        self.out_channels = prev
        if edge_importance:
            self.edge_importance = nn.ParameterList(
                [nn.Parameter(torch.ones_like(self.A)) for _ in self.layers]
            )
        else:
            self.edge_importance = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, m = x.shape[:2]
        check_input(x, "ST-GCN", self.graph.layout.name, self.A.shape[1], self.in_channels)
        x = normalise_input(x, self.data_bn, per_person=False)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        for i, block in enumerate(self.layers):
            A = self.A if self.edge_importance is None else self.A * self.edge_importance[i]
            x = block(x, A)
        return x.reshape(n, m, *x.shape[1:])
