"""The ResNet-18 of the Mammoth continual-learning library, and its training-time input
transform (random crop with zero padding, then normalisation)."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from zoo.registry import MODELS


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


class MammothBasicBlock(nn.Module):
    """Post-activation basic block: ``relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut x)``,
    shortcut a strided 1x1 conv + BN when the shape changes, else the identity."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = _conv3x3(cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = _conv3x3(cout, cout)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


@MODELS.register_module()
class MammothResNet18(nn.Module):
    """ResNet-18 as Mammoth builds it for seq-CIFAR-10 (Buzzega et al., "Dark Experience for
    General Continual Learning: a Strong, Simple Baseline", NeurIPS 2020; aimagelab/mammoth
    ``backbone/ResNet18.py`` at the first commit, ``backbone/ResNetBlock.py`` today).

    The CIFAR variant of He et al.'s ResNet: a 3x3 stride-1 stem (no bias) + BN + ReLU and no
    max-pool, then four stages of ``num_blocks`` post-activation basic blocks with widths
    ``nf, 2nf, 4nf, 8nf`` and strides 1, 2, 2, 2. Input ``[N, in_channels, H, W]``; output
    the last feature map ``[N, 8 nf, H/8, W/8]`` (``LinearClsHead`` average-pools it and
    applies the linear classifier, as Mammoth's ``avg_pool2d`` + ``linear``).
    """

    def __init__(self, in_channels: int = 3, nf: int = 64,
                 num_blocks: Sequence[int] = (2, 2, 2, 2)):
        super().__init__()
        if len(num_blocks) != 4:
            raise ValueError(f"MammothResNet18 num_blocks needs 4 stages, got {num_blocks}")
        self.conv1 = _conv3x3(in_channels, nf)
        self.bn1 = nn.BatchNorm2d(nf)
        stages, cin = [], nf
        for i, (n, stride) in enumerate(zip(num_blocks, (1, 2, 2, 2))):
            cout = nf * 2 ** i
            blocks = []
            for s in [stride] + [1] * (n - 1):
                blocks.append(MammothBasicBlock(cin, cout, s))
                cin = cout
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.out_channels = cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return self.layer4(self.layer3(self.layer2(self.layer1(out))))


def random_crop_padded(x: torch.Tensor, padding: int,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """torchvision's ``RandomCrop(size=(H, W), padding=padding)`` on a batch ``[N, C, H, W]``:
    each sample is zero-padded by ``padding`` on every side and an ``H x W`` window is cut at
    an offset drawn uniformly (independently per sample)."""
    if padding <= 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator, device="cpu").to(x.device)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator, device="cpu").to(x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, :, None]  # [N, H, 1]
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, :]  # [N, 1, W]
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


@MODELS.register_module()
class TrainTransformBackbone(nn.Module):
    """A backbone behind Mammoth's input transform: in training mode every forward pass
    random-crops its input with zero padding (``crop_padding``), then every pass (training
    and evaluation) normalises by ``mean`` / ``std`` — Mammoth's ``RandomCrop(size,
    padding) -> ToTensor -> Normalize`` training transform and ``ToTensor -> Normalize`` test
    transform, in that order (zero padding is black, not the mean).

    Why in the forward pass rather than in the data pipeline: Mammoth stores the
    *non-augmented* images in its buffers and augments them again every time they are
    replayed (``buffer.get_data(..., transform=self.transform)``). The zoo's strategies store
    the inputs the loop gives them and replay them as stored; augmenting inside the model's
    training-mode forward gives the buffer raw images and a fresh augmentation at every
    replay, for every strategy, without changing them. Evaluation, herding and the other
    eval-mode passes see the images un-augmented, as in Mammoth.
    """

    def __init__(self, backbone: dict, crop_padding: int = 0, mean: float = 0.0,
                 std: float = 1.0):
        super().__init__()
        if crop_padding < 0:
            raise ValueError(f"TrainTransformBackbone crop_padding must be >= 0, got "
                             f"{crop_padding}")
        if std <= 0:
            raise ValueError(f"TrainTransformBackbone std must be > 0, got {std}")
        self.backbone = MODELS.build(backbone)
        self.crop_padding, self.mean, self.std = int(crop_padding), float(mean), float(std)
        self.out_channels = getattr(self.backbone, "out_channels", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            x = random_crop_padded(x, self.crop_padding)
        return self.backbone((x - self.mean) / self.std)
