"""Contrastive losses: supervised contrastive, InfoNCE with a MoCo queue, proxy-based
contrast and HiCLR's asymmetric hierarchical consistency.

The functions compute the formulas; the ``MODELS``-registered classes wrap them for configs
(``dict(type='SupConLoss', temperature=0.1)``) and carry a ``loss_weight``. Shapes: features
``[N, D]``, labels ``[N]`` (int64), a queue ``[K, D]`` of L2-normalised keys.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from zoo.registry import MODELS


def supcon_loss(features: torch.Tensor, labels: torch.Tensor, temperature: float
                ) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al., NeurIPS 2020, ``L^sup_out``, Eq. 2) of
    L2-normalised ``features [N, D]``: for anchor ``i`` with positives ``P(i)`` (same label,
    not ``i``) and contrast set ``A(i)`` (all but ``i``),
    ``-1/|P(i)| sum_{p in P(i)} log(exp(z_i.z_p / t) / sum_{a in A(i)} exp(z_i.z_a / t))``,
    averaged over the anchors that have a positive (the others are skipped)."""
    n = len(features)
    sim = features @ features.T / temperature
    self_mask = torch.eye(n, dtype=torch.bool, device=features.device)
    sim = sim.masked_fill(self_mask, float("-inf"))
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    positives = (labels[:, None] == labels[None, :]) & ~self_mask
    count = positives.sum(1)
    valid = count > 0
    if not valid.any():
        return features.sum() * 0.0
    mean_log_pos = (log_prob.masked_fill(~positives, 0.0)).sum(1)[valid] / count[valid]
    return -mean_log_pos.mean()


def proxy_contrastive_loss(features: torch.Tensor, proxies: torch.Tensor, labels: torch.Tensor,
                           temperature: float, sample_pairs: bool = False) -> torch.Tensor:
    """PCR's loss (Lin et al., CVPR 2023; official ``SupConLoss(contrast_mode='proxy')``): a
    supervised contrastive loss whose anchors are the normalised sample features and whose
    contrast set is the proxies ``[C, D]`` (classifier rows) of the labels in the batch, one
    per sample; the positives of anchor ``i`` are the proxies of its own class. Proxies of
    classes absent from the batch get no gradient.

    With ``sample_pairs`` (HPCR's contrastive component) the other samples' features join the
    contrast set (positives: same label, excluding the anchor itself).
    """
    f = F.normalize(features, dim=1)
    p = F.normalize(proxies[labels], dim=1)
    same = labels[:, None] == labels[None, :]
    logits = f @ p.T / temperature
    positives = same
    if sample_pairs:
        n = len(f)
        eye = torch.eye(n, dtype=torch.bool, device=f.device)
        sample_logits = (f @ f.T / temperature).masked_fill(eye, float("-inf"))
        logits = torch.cat([logits, sample_logits], dim=1)
        positives = torch.cat([same, same & ~eye], dim=1)
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    mean_log_pos = log_prob.masked_fill(~positives, 0.0).sum(1) / positives.sum(1)
    return -mean_log_pos.mean()


def moco_logits(query: torch.Tensor, key: torch.Tensor, queue: torch.Tensor | None,
                temperature: float) -> torch.Tensor:
    """MoCo logits ``[N, 1 + K]`` (He et al., CVPR 2020): column 0 is ``q_i . k_i / t``, the
    others ``q_i . queue_j / t``. Without a queue the other keys of the batch are the
    negatives (column 0 still the positive). Inputs are expected L2-normalised."""
    pos = (query * key).sum(1, keepdim=True)
    if queue is not None:
        neg = query @ queue.T
    else:
        n = len(query)
        full = query @ key.T
        off = ~torch.eye(n, dtype=torch.bool, device=query.device)
        neg = full[off].view(n, n - 1)
    return torch.cat([pos, neg], 1) / temperature


def info_nce_loss(query: torch.Tensor, key: torch.Tensor, queue: torch.Tensor | None = None,
                  temperature: float = 0.07) -> torch.Tensor:
    """InfoNCE (van den Oord et al. 2018) as MoCo uses it: cross-entropy of
    :func:`moco_logits` with the positive key at index 0,
    ``-log(exp(q.k+/t) / (exp(q.k+/t) + sum_j exp(q.n_j/t)))`` averaged over the batch."""
    logits = moco_logits(query, key, queue, temperature)
    target = torch.zeros(len(logits), dtype=torch.long, device=logits.device)
    return F.cross_entropy(logits, target)


def asymmetric_consistency_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor
                                ) -> torch.Tensor:
    """HiCLR's directional consistency (Zhang, Lin & Liu, AAAI 2023; official
    ``processor/pretrain_hiclr.py``): the cross-entropy
    ``-mean_i sum_j softmax(teacher)_ij log softmax(student)_ij`` with the teacher
    distribution (the less augmented view's similarities to the key and the queue) detached,
    so the more strongly augmented view learns from the weaker one and not the reverse."""
    target = teacher_logits.detach().softmax(1)
    return -(target * student_logits.log_softmax(1)).sum(1).mean()


def hiclr_loss(queries: Sequence[torch.Tensor], key: torch.Tensor, queue: torch.Tensor | None,
               temperature: float = 0.07) -> dict[str, torch.Tensor]:
    """HiCLR's pre-training objective for query views ordered from the weakest augmentation
    to the strongest (all L2-normalised ``[N, D]``): InfoNCE of the first view against the
    momentum key plus the mean over ``b >= 1`` of the asymmetric consistency of view ``b``
    (student) to view ``b - 1`` (teacher), all logits against the same key and queue.
    With HiCLR's three branches this is ``loss1 + (loss2 + loss3) / 2`` of the official
    code. Returns ``{'loss_infonce', 'loss_consistency'}``."""
    if len(queries) < 1:
        raise ValueError("hiclr_loss needs at least one query view")
    logits = [moco_logits(q, key, queue, temperature) for q in queries]
    target = torch.zeros(len(key), dtype=torch.long, device=key.device)
    losses = {"loss_infonce": F.cross_entropy(logits[0], target)}
    if len(logits) > 1:
        terms = [asymmetric_consistency_loss(logits[b], logits[b - 1])
                 for b in range(1, len(logits))]
        losses["loss_consistency"] = torch.stack(terms).mean()
    return losses


@MODELS.register_module()
class SupConLoss(nn.Module):
    """Supervised contrastive loss (Khosla et al., NeurIPS 2020); see :func:`supcon_loss`.
    ``forward(features [N, D], labels [N])``; features are L2-normalised here when
    ``normalize`` (default)."""

    def __init__(self, temperature: float = 0.1, normalize: bool = True,
                 loss_weight: float = 1.0):
        super().__init__()
        self.temperature, self.normalize, self.loss_weight = temperature, normalize, loss_weight

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.normalize:
            features = F.normalize(features, dim=1)
        return self.loss_weight * supcon_loss(features, labels, self.temperature)


@MODELS.register_module()
class InfoNCELoss(nn.Module):
    """InfoNCE / MoCo queue contrast (He et al., CVPR 2020); see :func:`info_nce_loss`.
    ``forward(query [N, D], key [N, D], queue [K, D] or None)``; query and key are
    L2-normalised here when ``normalize`` (the queue is stored normalised)."""

    def __init__(self, temperature: float = 0.07, normalize: bool = True,
                 loss_weight: float = 1.0):
        super().__init__()
        self.temperature, self.normalize, self.loss_weight = temperature, normalize, loss_weight

    def forward(self, query: torch.Tensor, key: torch.Tensor,
                queue: torch.Tensor | None = None) -> torch.Tensor:
        if self.normalize:
            query, key = F.normalize(query, dim=1), F.normalize(key, dim=1)
        return self.loss_weight * info_nce_loss(query, key, queue, self.temperature)


@MODELS.register_module()
class ProxyContrastiveLoss(nn.Module):
    """Proxy-based contrastive loss of PCR / HPCR (Lin et al., CVPR 2023); see
    :func:`proxy_contrastive_loss`. ``forward(features [N, D], proxies [C, D], labels [N])``."""

    def __init__(self, temperature: float = 0.09, sample_pairs: bool = False,
                 loss_weight: float = 1.0):
        super().__init__()
        self.temperature, self.sample_pairs = temperature, sample_pairs
        self.loss_weight = loss_weight

    def forward(self, features: torch.Tensor, proxies: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * proxy_contrastive_loss(
            features, proxies, labels, self.temperature, self.sample_pairs)


@MODELS.register_module()
class HiCLRLoss(nn.Module):
    """HiCLR's InfoNCE + asymmetric hierarchical consistency (Zhang, Lin & Liu, AAAI 2023);
    see :func:`hiclr_loss`. ``forward(queries: list of [N, D] from the weakest to the
    strongest augmentation, key [N, D], queue [K, D] or None)`` returns a dict of losses
    (the consistency term scaled by ``consistency_weight``)."""

    def __init__(self, temperature: float = 0.07, consistency_weight: float = 1.0,
                 normalize: bool = True):
        super().__init__()
        self.temperature, self.consistency_weight = temperature, consistency_weight
        self.normalize = normalize

    def forward(self, queries: Sequence[torch.Tensor], key: torch.Tensor,
                queue: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if self.normalize:
            queries = [F.normalize(q, dim=1) for q in queries]
            key = F.normalize(key, dim=1)
        losses = hiclr_loss(queries, key, queue, self.temperature)
        if "loss_consistency" in losses:
            losses["loss_consistency"] = self.consistency_weight * losses["loss_consistency"]
        return losses
