"""Pieces shared by the self-supervised skeleton models: pooling, projector, clip handling."""
from __future__ import annotations

import torch
from torch import nn


def pool_skeleton(features: torch.Tensor) -> torch.Tensor:
    """Global average of backbone features ``[N, M, C, T, V]`` over T, V, then bodies M
    (as ``GCNHead.pool``): ``[N, C]``."""
    if features.dim() != 5:
        raise ValueError(f"skeleton backbones must return [N, M, C, T, V] features, got "
                         f"{tuple(features.shape)}")
    return features.mean(dim=(3, 4)).mean(dim=1)


def first_clip(inputs: torch.Tensor) -> torch.Tensor:
    """``[N, clips, M, T, V, C]`` -> its first clip ``[N, M, T, V, C]``; 5-D passes."""
    if inputs.dim() == 5:
        return inputs
    if inputs.dim() != 6:
        raise ValueError(f"skeleton input must be [N, clips, M, T, V, C] or [N, M, T, V, C], "
                         f"got {tuple(inputs.shape)}")
    return inputs[:, 0]


def backbone_channels(backbone: nn.Module, feat_channels: int | None) -> int:
    """Width of the backbone's output: ``feat_channels`` or its ``out_channels``."""
    if feat_channels is not None:
        return feat_channels
    channels = getattr(backbone, "out_channels", None)
    if channels is None:
        raise ValueError(f"{type(backbone).__name__} has no out_channels; set feat_channels "
                         f"in the self-supervised model's config")
    return int(channels)


def projector(in_channels: int, hidden: int | None, out_channels: int) -> nn.Sequential:
    """MoCo v2's MLP head (as HiCLR's ``mlp=True``): linear, ReLU, linear."""
    hidden = hidden or in_channels
    return nn.Sequential(nn.Linear(in_channels, hidden), nn.ReLU(inplace=True),
                         nn.Linear(hidden, out_channels))
