"""ModTr translator: a U-Net that maps an IR image to a 3-channel image for an RGB detector.

Medeiros et al., ECCV 2024 use a U-Net (segmentation_models_pytorch ``Unet``) with a
ResNet-34 encoder of depth 5, 3 input channels (the IR image repeated), 3 output channels
and a sigmoid head. This module builds the same kind of network from torchvision ResNets
(``encoder='resnet18' | 'resnet34' | 'resnet50'``, random weights: no ImageNet weights
offline) or from a light plain-conv encoder (``encoder='plain'`` with ``encoder_channels``),
with configurable ``encoder_depth`` (1-5) and ``decoder_channels``.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from zoo.registry import MODELS


def _conv_bn_relu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class _StagedEncoder(nn.Module):
    """Runs ``self.stages`` in turn and returns every stage's output (the U-Net skips)."""

    stages: nn.ModuleList

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


class _PlainEncoder(_StagedEncoder):
    """Stages of (stride-2 conv, conv); stage i has stride 2^(i+1)."""

    def __init__(self, in_channels: int, channels: Sequence[int]):
        super().__init__()
        stages, cin = [], in_channels
        for c in channels:
            stages.append(nn.Sequential(_conv_bn_relu(cin, c, 2), _conv_bn_relu(c, c)))
            cin = c
        self.stages = nn.ModuleList(stages)
        self.out_channels = list(channels)


class _ResNetEncoder(_StagedEncoder):
    """torchvision ResNet features at strides 2, 4, 8, 16, 32 (first ``depth`` of them)."""

    def __init__(self, name: str, in_channels: int, depth: int):
        super().__init__()
        net = getattr(torchvision.models, name)(weights=None)
        if in_channels != 3:
            net.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        expansion = 4 if name in ("resnet50", "resnet101", "resnet152") else 1
        self.stages = nn.ModuleList([
            nn.Sequential(net.conv1, net.bn1, net.relu),
            nn.Sequential(net.maxpool, net.layer1), net.layer2, net.layer3, net.layer4,
        ][:depth])
        self.out_channels = [64, 64 * expansion, 128 * expansion, 256 * expansion,
                             512 * expansion][:depth]


class _DecoderBlock(nn.Module):
    def __init__(self, cin: int, skip: int, cout: int):
        super().__init__()
        self.convs = nn.Sequential(_conv_bn_relu(cin + skip, cout), _conv_bn_relu(cout, cout))

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        if skip is not None:
            x = torch.cat([x, skip], 1)
        return self.convs(x)


@MODELS.register_module()
class ModTrTranslator(nn.Module):
    """U-Net translator ``[N, in_channels, H, W] -> [N, out_channels, H, W]`` in (0, 1).

    The decoder upsamples by 2 per block and concatenates the encoder feature of the same
    stride (the full-resolution block has none, as in smp's ``Unet``); a 3x3 conv and a
    sigmoid give the image. Any input size works: it is padded (replicate) to a multiple of
    ``2**encoder_depth`` and the output cropped back.

    Args:
        encoder: ``'resnet18'``, ``'resnet34'`` (the paper), ``'resnet50'`` or ``'plain'``.
        encoder_depth: number of encoder stages (paper: 5).
        encoder_channels: widths of the ``'plain'`` encoder stages (first ``encoder_depth``).
        decoder_channels: widths of the decoder blocks, deepest first (paper / smp:
            256, 128, 64, 32, 16); the first ``encoder_depth`` are used.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, encoder: str = "resnet34",
                 encoder_depth: int = 5,
                 encoder_channels: Sequence[int] = (16, 32, 64, 128, 256),
                 decoder_channels: Sequence[int] = (256, 128, 64, 32, 16)):
        super().__init__()
        if not 1 <= encoder_depth <= 5:
            raise ValueError(f"encoder_depth must be in 1..5, got {encoder_depth}")
        if len(decoder_channels) < encoder_depth:
            raise ValueError(f"decoder_channels needs {encoder_depth} widths, got "
                             f"{tuple(decoder_channels)}")
        if encoder == "plain":
            if len(encoder_channels) < encoder_depth:
                raise ValueError(f"encoder_channels needs {encoder_depth} widths, got "
                                 f"{tuple(encoder_channels)}")
            self.encoder = _PlainEncoder(in_channels, list(encoder_channels)[:encoder_depth])
        elif encoder.startswith("resnet"):
            self.encoder = _ResNetEncoder(encoder, in_channels, encoder_depth)
        else:
            raise ValueError(f"encoder must be 'plain' or a torchvision resnet name, got "
                             f"{encoder!r}")
        self.in_channels, self.depth = in_channels, encoder_depth
        enc = self.encoder.out_channels
        dec = list(decoder_channels)[:encoder_depth]
        blocks, cin = [], enc[-1]
        for i, cout in enumerate(dec):
            skip_idx = encoder_depth - 2 - i  # encoder feature at the block's output stride
            blocks.append(_DecoderBlock(cin, enc[skip_idx] if skip_idx >= 0 else 0, cout))
            cin = cout
        self.decoder = nn.ModuleList(blocks)
        self.head = nn.Conv2d(cin, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = 2 ** self.depth
        pad_h, pad_w = (-h) % m, (-w) % m
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        feats = self.encoder(x)
        y = feats[-1]
        for i, block in enumerate(self.decoder):
            skip_idx = self.depth - 2 - i
            y = block(y, feats[skip_idx] if skip_idx >= 0 else None)
        return torch.sigmoid(self.head(y))[..., :h, :w]
