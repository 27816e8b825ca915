"""A small convolutional backbone for low-resolution images (digits, tests, demos)."""
from __future__ import annotations

import torch
from torch import nn

from zoo.registry import MODELS


def _conv_bn(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


@MODELS.register_module()
class SmallCNN(nn.Module):
    """Three conv-BN-ReLU stages (widths ``channels``), max-pooling between them.

    Input ``[N, C, H, W]``; output feature map ``[N, channels[-1], H/4, W/4]``.
    """

    def __init__(self, in_channels: int = 1, channels: tuple[int, ...] = (32, 64, 128)):
        super().__init__()
        layers, prev = [], in_channels
        for i, width in enumerate(channels):
            layers.append(_conv_bn(prev, width))
            if i < len(channels) - 1:
                layers.append(nn.MaxPool2d(2))
            prev = width
        self.features = nn.Sequential(*layers)
        self.out_channels = prev

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)
