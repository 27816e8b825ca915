"""HaLP's hallucinated-positive loss (Shah et al., "HaLP: Hallucinating Latent Positives
for Skeleton-based Self-Supervised Learning of Actions", CVPR 2023; official code
anshulbshah/HaLP, ``moco/builder_single_modality_halp.py``). The positives themselves come
from ``zoo.models.selfsup.latent_positives``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from zoo.registry import MODELS


def halp_alignment_loss(query: torch.Tensor, positives: torch.Tensor, keep: torch.Tensor,
                        temperature: float) -> torch.Tensor:
    """The official HaLP term ``loss_pn``: ``-sum_{kept} (q_i . z_ij / t) / #kept`` for unit
    ``query [N, D]`` and hallucinated ``positives [N, G, D]`` (no gradient through them); the
    ``log(exp(.))`` of the official code is this similarity. 0 when nothing is kept."""
    sim = torch.einsum("nd,ngd->ng", query, positives.detach()) / temperature
    keep = keep.to(sim.dtype)
    return -(sim * keep).sum() / (keep.sum() + 1e-8)


@MODELS.register_module()
class HaLPLoss(nn.Module):
    """The hallucinated-positive term of HaLP (Shah et al., CVPR 2023); see
    :func:`halp_alignment_loss`. ``forward(query [N, D], positives [N, G, D], keep [N, G])``;
    the query is L2-normalised here when ``normalize``. ``loss_weight`` is the official
    ``mu`` (2 in the released NTU scripts)."""

    def __init__(self, temperature: float = 0.07, loss_weight: float = 2.0,
                 normalize: bool = True):
        super().__init__()
        self.temperature, self.loss_weight, self.normalize = temperature, loss_weight, normalize

    def forward(self, query: torch.Tensor, positives: torch.Tensor,
                keep: torch.Tensor) -> torch.Tensor:
        if self.normalize:
            query = F.normalize(query, dim=1)
        return self.loss_weight * halp_alignment_loss(query, positives, keep, self.temperature)
