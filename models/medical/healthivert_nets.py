"""Networks of HealthiVert-GAN (Zhang et al., "HealthiVert-GAN: pseudo-healthy vertebral image
synthesis for interpretable compression fracture grading", JBHI 2025, arXiv 2503.05990).

Written from the description and the layer list of the official ``models/inpaint_networks.py``
(a DeepFill-v1-style two-stage inpainting generator):

* coarse generator: input (masked CT, slice-position channel, mask) -> encoder with dilated
  convolutions -> decoder that receives ``1 - heat map`` at 1/2 and full resolution (HGAM,
  HealthiVert-Guided Attention Module) -> coarse CT, sigmoid segmentation (of the adjacent
  healthy vertebrae) and a height in (0, 1) from a pooled FC head (SHRM, Self-adaptive Height
  Restoration Module; multiplied by the maximum height outside).
* fine generator: (masked CT, coarse segmentation, mask, slice position) -> a dilated-conv
  branch and a contextual-attention branch, merged -> fine CT, sigmoid segmentation of the
  target vertebra, height (SHRM); the coarse CT joins before the last layer.
* discriminator: pix2pix 70x70 PatchGAN (``n_layers`` = 3, batch norm).
All generator convolutions are spectral-normalised with ELU, as in the official code.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm


class GenConv(nn.Sequential):
    """Spectral-normalised convolution + activation ('elu' | 'relu' | 'sigmoid' | 'none')."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, dilation: int = 1,
                 act: str = "elu"):
        layers: list[nn.Module] = [spectral_norm(nn.Conv2d(cin, cout, k, stride,
                                                           padding=dilation * (k // 2),
                                                           dilation=dilation))]
        acts = {"elu": nn.ELU(), "relu": nn.ReLU(), "sigmoid": nn.Sigmoid()}
        if act != "none":
            layers.append(acts[act])
        super().__init__(*layers)


def _dilated(c: int, dilations: Sequence[int]) -> nn.Sequential:
    return nn.Sequential(*[GenConv(c, c, 3, 1, d) for d in dilations])


class HeightHead(nn.Module):
    """SHRM head: global average pool -> linear -> sigmoid (fraction of the maximum height),
    as the official code.

    ``rows=R`` (a zoo option, not the paper's) averages over the width only, into ``R`` row
    bins, so the linear layer sees where along the spine axis the features lie; on the
    phantoms the official head's output settles at the training mean (docs/healthivert.md).

    ``forward(x, prior)``: with a ``prior`` [N] (a height fraction in (0, 1), e.g. the
    adjacent vertebrae's mean height; another zoo option) the linear output is a correction
    added to the prior's logit, so the head predicts "like the neighbours, plus what the image
    says"; entries <= 0 mean no prior for that sample.
    """

    def __init__(self, channels: int, rows: int | None = None):
        super().__init__()
        if rows is not None and rows < 1:
            raise ValueError(f"SHRM height head: rows must be >= 1 or None, got {rows}")
        self.rows = rows
        self.fc = nn.Linear(channels * (rows or 1), 1)

    def forward(self, x: torch.Tensor, prior: torch.Tensor | None = None) -> torch.Tensor:
        if self.rows is None:
            pooled = x.mean(dim=(2, 3))
        else:
            pooled = F.adaptive_avg_pool2d(x, (self.rows, 1)).flatten(1)
        logit = self.fc(pooled).squeeze(1)
        if prior is not None:
            prior = prior.to(logit)
            logit = logit + torch.where(prior > 0, torch.logit(prior, eps=1e-3),
                                        torch.zeros_like(prior))
        return torch.sigmoid(logit)


def _constant_channel(value: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A [N, 1, H, W] channel holding each sample's scalar ``value`` (slice position, prior)."""
    n, _, h, w = like.shape
    return value.to(like).view(n, 1, 1, 1).expand(n, 1, h, w)


def _prior_map(used: bool, prior: torch.Tensor | None, like: torch.Tensor) -> list:
    """The height prior as a constant input channel (``prior_channel``), else nothing."""
    if not used:
        return []
    if prior is None:
        raise ValueError("HealthiVertGenerator(prior_channel=True) needs a height_prior")
    return [_constant_channel(prior, like)]


class CoarseGenerator(nn.Module):
    """Stage 1: coarse CT, segmentation of adjacent vertebrae, height; HGAM in the decoder."""

    def __init__(self, cnum: int = 16, dilations: Sequence[int] = (2, 4, 8, 16),
                 height_rows: int | None = None, prior_channel: bool = False):
        super().__init__()
        c = cnum
        self.prior_channel = prior_channel
        self.encoder = nn.Sequential(
            GenConv(3 + prior_channel, c, 5), GenConv(c, 2 * c, 3, 2), GenConv(2 * c, 2 * c),
            GenConv(2 * c, 4 * c, 3, 2), GenConv(4 * c, 4 * c), GenConv(4 * c, 4 * c),
            _dilated(4 * c, dilations))
        self.height = HeightHead(4 * c, height_rows)
        self.mid = nn.Sequential(GenConv(4 * c, 4 * c), GenConv(4 * c, 4 * c))
        self.fuse_half = GenConv(4 * c + 1, 4 * c)  # + heat map at 1/2 resolution
        self.dec_half = nn.Sequential(GenConv(4 * c, 2 * c), GenConv(2 * c, 2 * c))
        self.fuse_full = GenConv(2 * c + 1, 2 * c)  # + heat map at full resolution
        self.dec_full = nn.Sequential(GenConv(2 * c, c), GenConv(c, c // 2))
        self.to_image = GenConv(c // 2, 1, act="none")
        self.to_seg = GenConv(c // 2, 1, act="sigmoid")

    def forward(self, x, mask, attention, slice_ratio, height_prior=None):
        feat = self.encoder(torch.cat([x, _constant_channel(slice_ratio, x), mask,
                                       *_prior_map(self.prior_channel, height_prior, x)], 1))
        height = self.height(feat, height_prior)
        feat = F.interpolate(self.mid(feat), scale_factor=2, mode="nearest")
        att_half = F.interpolate(attention, size=feat.shape[-2:], mode="nearest")
        feat = self.dec_half(self.fuse_half(torch.cat([feat, att_half], 1)))
        feat = F.interpolate(feat, scale_factor=2, mode="nearest")
        feat = self.dec_full(self.fuse_full(torch.cat([feat, attention], 1)))
        image = torch.clamp(self.to_image(feat), -1.0, 1.0)
        return self.to_seg(feat), image, height


class ContextualAttention(nn.Module):
    """Contextual attention (Yu et al., CVPR 2018) as used by HealthiVert-GAN's fine stage.

    Foreground features attend to 3x3 patches of the (``rate``-downscaled) background that lie
    fully outside the hole; scores are cosine similarities, optionally fused along both
    flattened orders with an identity kernel, soft-maxed with ``softmax_scale``; the output
    pastes the matching full-resolution ``2*rate`` patches with a transposed convolution.
    """

    def __init__(self, ksize: int = 3, rate: int = 2, softmax_scale: float = 10.0,
                 fuse_k: int = 3, fuse: bool = True):
        super().__init__()
        self.ksize, self.rate, self.scale = ksize, rate, softmax_scale
        self.fuse_k, self.fuse = fuse_k, fuse
        self.register_buffer("fuse_weight", torch.eye(fuse_k).view(1, 1, fuse_k, fuse_k),
                             persistent=False)

    def _fuse(self, s: torch.Tensor, hb: int, wb: int, hf: int, wf: int) -> torch.Tensor:
        n, length, p = s.shape
        pad = self.fuse_k // 2
        s = F.conv2d(s.view(n, 1, length, p), self.fuse_weight, padding=pad)
        s = s.view(n, hb, wb, hf, wf).permute(0, 2, 1, 4, 3).reshape(n, 1, length, p)
        s = F.conv2d(s, self.fuse_weight, padding=pad)
        return s.view(n, wb, hb, wf, hf).permute(0, 2, 1, 4, 3).reshape(n, length, p)

    def forward(self, f: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n, c, h, w = b.shape
        r, k = self.rate, self.ksize
        raw = F.unfold(b, 2 * r, stride=r, padding=r // 2)  # [N, C*2r*2r, L]
        fd = F.interpolate(f, scale_factor=1 / r, mode="nearest")
        bd = F.interpolate(b, scale_factor=1 / r, mode="nearest")
        hb, wb = bd.shape[-2:]
        hf, wf = fd.shape[-2:]
        wpatch = F.unfold(bd, k, padding=k // 2)  # [N, C*k*k, L]
        wpatch = wpatch / wpatch.norm(dim=1, keepdim=True).clamp_min(1e-4)
        scores = wpatch.transpose(1, 2) @ F.unfold(fd, k, padding=k // 2)  # [N, L, P]
        if self.fuse:
            scores = self._fuse(scores, hb, wb, hf, wf)
        md = F.interpolate(mask, size=(hb, wb), mode="nearest")
        valid = (F.unfold(md, k, padding=k // 2).mean(1) == 0).to(scores).unsqueeze(2)
        attn = F.softmax(scores * valid * self.scale, dim=1) * valid  # [N, L, P]
        weight = raw.transpose(1, 2).reshape(n * hb * wb, c, 2 * r, 2 * r)
        out = F.conv_transpose2d(attn.reshape(1, n * hb * wb, hf, wf), weight, stride=r,
                                 padding=r // 2, groups=n) / 4.0
        return out.view(n, c, *out.shape[-2:])[..., :h, :w]


class FineGenerator(nn.Module):
    """Stage 2: dilated-conv branch + contextual-attention branch -> fine CT, target seg,
    height (SHRM)."""

    def __init__(self, cnum: int = 16, dilations: Sequence[int] = (2, 4, 8, 16),
                 attention: dict | None = None, height_rows: int | None = None,
                 prior_channel: bool = False):
        super().__init__()
        c = cnum
        self.prior_channel = prior_channel
        cin = 4 + prior_channel
        self.conv_branch = nn.Sequential(
            GenConv(cin, c, 5), GenConv(c, c, 3, 2), GenConv(c, 2 * c), GenConv(2 * c, 2 * c, 3, 2),
            GenConv(2 * c, 4 * c), GenConv(4 * c, 4 * c), _dilated(4 * c, dilations))
        self.att_in = nn.Sequential(
            GenConv(cin, c, 5), GenConv(c, c, 3, 2), GenConv(c, 2 * c), GenConv(2 * c, 4 * c, 3, 2),
            GenConv(4 * c, 4 * c), GenConv(4 * c, 4 * c, act="relu"))
        self.attention = ContextualAttention(**(attention or {}))
        self.att_out = nn.Sequential(GenConv(4 * c, 4 * c), GenConv(4 * c, 4 * c))
        self.merge = GenConv(8 * c, 4 * c)
        self.height = HeightHead(4 * c, height_rows)
        self.dec = nn.Sequential(GenConv(4 * c, 4 * c), GenConv(4 * c, 4 * c))
        self.dec_half = nn.Sequential(GenConv(4 * c, 2 * c), GenConv(2 * c, 2 * c))
        self.dec_full = nn.Sequential(GenConv(2 * c, c), GenConv(c, c // 2))
        self.to_image = GenConv(c // 2 + 1, 1, act="none")
        self.to_seg = GenConv(c // 2 + 1, 1, act="sigmoid")

    def forward(self, x, coarse_image, mask, coarse_seg, slice_ratio, height_prior=None):
        xin = torch.cat([x, coarse_seg, mask, _constant_channel(slice_ratio, x),
                         *_prior_map(self.prior_channel, height_prior, x)], 1)
        hallu = self.conv_branch(xin)
        att = self.att_in(xin)
        att = self.att_out(self.attention(att, att, mask))
        feat = self.merge(torch.cat([hallu, att], 1))
        height = self.height(feat, height_prior)
        feat = F.interpolate(self.dec(feat), scale_factor=2, mode="nearest")
        feat = F.interpolate(self.dec_half(feat), scale_factor=2, mode="nearest")
        feat = torch.cat([self.dec_full(feat), coarse_image], 1)
        image = torch.clamp(self.to_image(feat), -1.0, 1.0)
        return self.to_seg(feat), image, height


class HealthiVertGenerator(nn.Module):
    """Coarse-to-fine HealthiVert-GAN generator (see module docstring).

    ``forward(masked, mask, attention, slice_ratio)`` with images [N, 1, H, W] (H, W divisible
    by 8), ``attention`` = 1 - heat map, ``slice_ratio`` [N]. Returns a dict with
    ``coarse_seg``, ``coarse_image``, ``coarse_height``, ``fine_seg``, ``fine_image``,
    ``fine_height`` (heights as fractions of the maximum height). ``height_rows``: see
    :class:`HeightHead` (None: the official global pool); ``height_prior`` [N] (optional, a
    fraction of the maximum height) goes to both stages' height heads, and with
    ``prior_channel`` (a zoo option) also into both stages as a constant input channel, so
    the synthesised image and mask, not only the height, can follow it.
    """

    def __init__(self, ngf: int = 16, dilations: Sequence[int] = (2, 4, 8, 16),
                 attention: dict | None = None, height_rows: int | None = None,
                 prior_channel: bool = False):
        super().__init__()
        self.coarse = CoarseGenerator(ngf, dilations, height_rows, prior_channel)
        self.fine = FineGenerator(ngf, dilations, attention, height_rows, prior_channel)

    def forward(self, masked, mask, attention, slice_ratio,
                height_prior: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if masked.shape[-1] % 8 or masked.shape[-2] % 8:
            raise ValueError(f"HealthiVertGenerator: image size {tuple(masked.shape[-2:])} must "
                             "be divisible by 8")
        cseg, cimg, ch = self.coarse(masked, mask, attention, slice_ratio, height_prior)
        fseg, fimg, fh = self.fine(masked, cimg, mask, cseg, slice_ratio, height_prior)
        return dict(coarse_seg=cseg, coarse_image=cimg, coarse_height=ch, fine_seg=fseg,
                    fine_image=fimg, fine_height=fh)


class PatchDiscriminator(nn.Module):
    """pix2pix PatchGAN (Isola et al. 2017): ``n_layers`` stride-2 convs, 4x4 kernels, batch
    norm, LeakyReLU 0.2; outputs a map of real/fake logits (70x70 receptive field for 3)."""

    def __init__(self, in_channels: int = 1, ndf: int = 64, n_layers: int = 3):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]
        mult = 1
        for i in range(1, n_layers + 1):
            prev, mult = mult, min(2 ** i, 8)
            stride = 2 if i < n_layers else 1
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1, bias=False),
                       nn.BatchNorm2d(ndf * mult), nn.LeakyReLU(0.2)]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        for m in self.modules():  # pix2pix 'normal' init, gain 0.02
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TripleDiscriminator(nn.Module):
    """HealthiVert-GAN's three PatchGANs: whole CT, vertebra mask, central strip of the hole."""

    def __init__(self, ndf: int = 64, n_layers: int = 3):
        super().__init__()
        self.ct = PatchDiscriminator(1, ndf, n_layers)
        self.mask = PatchDiscriminator(1, ndf, n_layers)
        self.local = PatchDiscriminator(1, ndf, n_layers)

    def forward(self, x: torch.Tensor, which: str) -> torch.Tensor:
        """Logits of the PatchGAN ``which`` (``'ct'``, ``'mask'`` or ``'local'``); one entry
        point, so that a DDP wrapper around the three sees every call."""
        if which not in ("ct", "mask", "local"):
            raise ValueError(f"TripleDiscriminator: unknown discriminator {which!r}")
        return getattr(self, which)(x)


class Sobel(nn.Module):
    """Sobel gradient magnitude with replicate padding, clipped at 1 (the EEM edge operator)."""

    def __init__(self):
        super().__init__()
        gx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
        self.register_buffer("kernel", torch.stack([gx, gx.t().flip(0)]).unsqueeze(1),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), self.kernel)
        return torch.sqrt((g ** 2).sum(1, keepdim=True) + 1e-12).clamp(max=1.0)
