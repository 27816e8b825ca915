"""ST-GCN as re-implemented by PYSKL (Duan et al., ACM MM 2022) and MMAction2 1.x.

The network of Yan, Xiong & Lin ("Spatial Temporal Graph Convolutional Networks for
Skeleton-Based Action Recognition", AAAI 2018) in PYSKL's generalised form, whose checkpoints
(PYSKL model zoo, MMAction2 ``configs/skeleton/stgcn``) the zoo's official-layout
:class:`~zoo.models.skeleton.stgcn.STGCN` cannot load:

* a graph unit per block (:class:`~.units.AdaptiveGraphConv`: its own adjacency copy
  ``A`` and, for ``'importance'`` / ``'offset'``, a learnable ``PA``; BN and ReLU inside the
  unit; optional inner residual ``gcn_with_res``);
* a temporal unit (``tcn_type='unit_tcn'``: 9x1 conv + BN + dropout, or ``'mstcn'``: the
  multi-scale module of STGCN++);
* a block residual (identity, or strided 1x1 conv + BN when the width or T changes);
* input BatchNorm per (joint, channel) (``data_bn_type='VC'``) or per (person, joint, channel)
  (``'MVC'``), or none;
* stages: the first block (only when ``in_channels != base_channels``) maps the input to
  ``base_channels`` without residual; blocks 2..``num_stages`` multiply the width by
  ``ch_ratio`` at ``inflate_stages`` and halve T at ``down_stages``; dropout is applied in all
  but the first stage.

With PYSKL's defaults (``'importance'``, ``unit_tcn``, ``'VC'``) the computation equals the
AAAI'18 network; STGCN++ is ``gcn_adaptive='init', gcn_with_res=True, tcn_type='mstcn'`` on the
``'spatial'`` graph. The graph of PYSKL's ``nturgb+d`` layout is the zoo's ``ntu25_pyskl``.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from zoo.registry import MODELS

from .graph import Graph
from .units import (
    DEFAULT_MS_CFG,
    AdaptiveGraphConv,
    MultiScaleTemporal,
    TemporalUnit,
    check_input,
    input_batchnorm,
    normalise_input,
    stage_widths,
    temporal_residual,
)

DATA_BN_TYPES = ("VC", "MVC", None)
TCN_TYPES = ("unit_tcn", "mstcn")


class PysklSTGCNBlock(nn.Module):
    """Graph unit, temporal unit, block residual, ReLU (PYSKL's ``STGCNBlock``)."""

    def __init__(self, in_channels: int, out_channels: int, A: torch.Tensor, stride: int = 1,
                 residual: bool = True, gcn_adaptive: str | None = "importance",
                 gcn_conv_pos: str = "pre", gcn_with_res: bool = False,
                 tcn_type: str = "unit_tcn", tcn_dropout: float = 0.0,
                 tcn_ms_cfg: Sequence = DEFAULT_MS_CFG, tcn_mid_channels: float | None = None):
        super().__init__()
        self.gcn = AdaptiveGraphConv(in_channels, out_channels, A, gcn_adaptive, gcn_conv_pos,
                                     gcn_with_res)
        if tcn_type == "unit_tcn":
            self.tcn = TemporalUnit(out_channels, out_channels, 9, stride, dropout=tcn_dropout)
        elif tcn_type == "mstcn":
            self.tcn = MultiScaleTemporal(out_channels, out_channels, tcn_mid_channels,
                                          tcn_dropout, tcn_ms_cfg, stride)
        else:
            raise ValueError(f"unknown tcn_type {tcn_type!r}; use one of {TCN_TYPES}")
        self.residual = temporal_residual(in_channels, out_channels, stride, residual,
                                          TemporalUnit)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn(self.gcn(x))
        if self.residual is not None:
            y = y + self.residual(x)
        return self.relu(y)


@MODELS.register_module()
class PysklSTGCN(nn.Module):
    """ST-GCN backbone in PYSKL's / MMAction2 1.x's form (loads their checkpoints).

    Args:
        graph_cfg: ``Graph`` arguments; PYSKL's ``layout='nturgb+d'`` is ``'ntu25_pyskl'``,
            ``'coco'`` is ``'coco17'``, ``'openpose'`` is ``'openpose18'``.
        in_channels: channels per joint (3: xyz, or x, y, score).
        base_channels / ch_ratio: width of the first stage and its inflation factor.
        data_bn_type: ``'VC'``, ``'MVC'`` (needs ``num_person``) or ``None``.
        num_person: persons M (only used by ``'MVC'``).
        num_stages / inflate_stages / down_stages: 1-based stage layout (see the module doc).
        gcn_adaptive / gcn_conv_pos / gcn_with_res: :class:`AdaptiveGraphConv` options.
        tcn_type: ``'unit_tcn'`` or ``'mstcn'``; ``tcn_dropout`` (not in the first stage),
            ``tcn_ms_cfg`` / ``tcn_mid_channels`` for ``'mstcn'``.

    Input ``[N, M, T, V, C]``; output ``[N, M, C_out, T_out, V]``.
    """

    def __init__(self, graph_cfg: dict | None = None, in_channels: int = 3,
                 base_channels: int = 64, data_bn_type: str | None = "VC", ch_ratio: float = 2,
                 num_person: int = 2, num_stages: int = 10,
                 inflate_stages: Sequence[int] = (5, 8), down_stages: Sequence[int] = (5, 8),
                 gcn_adaptive: str | None = "importance", gcn_conv_pos: str = "pre",
                 gcn_with_res: bool = False, tcn_type: str = "unit_tcn",
                 tcn_dropout: float = 0.0, tcn_ms_cfg: Sequence = DEFAULT_MS_CFG,
                 tcn_mid_channels: float | None = None):
        super().__init__()
        if data_bn_type not in DATA_BN_TYPES:
            raise ValueError(f"unknown data_bn_type {data_bn_type!r}; use one of "
                             f"{DATA_BN_TYPES}")
        graph_cfg = dict(graph_cfg or dict(layout="ntu25_pyskl", mode="stgcn_spatial"))
        self.graph = Graph(**graph_cfg)
        A = torch.tensor(self.graph.A, dtype=torch.float32)
        self.num_joints = A.shape[1]
        self.in_channels, self.num_person, self.data_bn_type = in_channels, num_person, data_bn_type
        per_person = {"MVC": True, "VC": False, None: None}[data_bn_type]
        self.data_bn = input_batchnorm(per_person, in_channels, self.num_joints, num_person)

        common = dict(gcn_adaptive=gcn_adaptive, gcn_conv_pos=gcn_conv_pos,
                      gcn_with_res=gcn_with_res, tcn_type=tcn_type, tcn_ms_cfg=tcn_ms_cfg,
                      tcn_mid_channels=tcn_mid_channels)
        blocks = []
        if in_channels != base_channels:  # stage 1: input -> base width, no residual
            blocks.append(PysklSTGCNBlock(in_channels, base_channels, A, 1, residual=False,
                                          **common))
        # PYSKL never inflates stage 1 (it is the input block, or absent)
        widths = stage_widths(base_channels, num_stages, [s for s in inflate_stages if s > 1],
                              ch_ratio)
        channels = base_channels
        for stage, out in enumerate(widths[1:], 2):
            blocks.append(PysklSTGCNBlock(channels, out, A, 2 if stage in down_stages else 1,
                                          tcn_dropout=tcn_dropout, **common))
            channels = out
        self.layers = nn.ModuleList(blocks)
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, "PysklSTGCN", self.graph.layout.name, self.num_joints, self.in_channels)
        n, m = x.shape[:2]
        if self.data_bn_type == "MVC" and m != self.num_person:
            raise ValueError(f"data_bn_type='MVC' was built for M={self.num_person} persons, "
                             f"got M={m}")
        x = normalise_input(x, self.data_bn, per_person=self.data_bn_type == "MVC")
        for block in self.layers:
            x = block(x)
        return x.reshape(n, m, *x.shape[1:])
