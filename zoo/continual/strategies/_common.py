"""Pieces shared by the contrastive strategies: a second view of packed inputs and the
supervised contrastive loss."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.losses.contrastive import supcon_loss  # noqa: F401  (the strategies' SupCon)


class TensorAugment:
    """A random second view of packed inputs of any modality.

    Each sample is scaled by ``1 + U(-scale, scale)`` and gets Gaussian noise of standard
    deviation ``noise_std``; image batches ``[N, C, H, W]`` are also shifted by up to
    ``shift`` pixels (zero padding). The contrastive methods' image augmentations (crops,
    flips, colour jitter) do not carry over to skeletons or feature bags; this is the
    modality-agnostic stand-in.
    """

    def __init__(self, noise_std: float = 0.05, scale: float = 0.1, shift: int = 1):
        self.noise_std, self.scale, self.shift = noise_std, scale, shift

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        shape = (len(x),) + (1,) * (x.dim() - 1)
        factor = 1 + self.scale * (2 * torch.rand(shape, device=x.device) - 1)
        out = x * factor + self.noise_std * torch.randn_like(x)
        if x.dim() == 4 and self.shift > 0:
            s = self.shift
            padded = F.pad(out, (s, s, s, s))
            dy, dx = torch.randint(0, 2 * s + 1, (2,)).tolist()
            out = padded[..., dy:dy + x.shape[2], dx:dx + x.shape[3]]
        return out
