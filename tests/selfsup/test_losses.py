"""Contrastive and reconstruction losses against their formulas on hand-computed cases."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from zoo.losses.contrastive import (
    HiCLRLoss,
    InfoNCELoss,
    ProxyContrastiveLoss,
    SupConLoss,
    asymmetric_consistency_loss,
    hiclr_loss,
    info_nce_loss,
    moco_logits,
    proxy_contrastive_loss,
    supcon_loss,
)
from zoo.losses.reconstruction import MaskedReconstructionLoss, masked_mse, masked_sce

from zoo.registry import MODELS


def lse(values):
    return math.log(sum(math.exp(v) for v in values))


def test_supcon_matches_the_formula_on_three_points():
    # unit vectors at 0, 90 and 0 degrees; labels a, b, a
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    labels = torch.tensor([0, 1, 0])
    t = 0.5
    # anchor 0: positives {2}, contrast {1, 2}: -(z0.z2/t - log(e^{z0.z1/t} + e^{z0.z2/t}))
    a0 = -(1 / t - lse([0 / t, 1 / t]))
    a2 = -(1 / t - lse([1 / t, 0 / t]))  # anchor 2 likewise; anchor 1 has no positive
    assert supcon_loss(z, labels, t).item() == pytest.approx((a0 + a2) / 2, rel=1e-6)
    # the registered loss normalises first: scaling the features changes nothing
    loss = MODELS.build(dict(type="SupConLoss", temperature=t, loss_weight=2.0))
    assert isinstance(loss, SupConLoss)
    assert loss(3 * z, labels).item() == pytest.approx(a0 + a2, rel=1e-6)
    # no anchor with a positive: zero, still differentiable
    zero = supcon_loss(z.requires_grad_(), torch.tensor([0, 1, 2]), t)
    assert zero.item() == 0.0 and zero.requires_grad


def test_info_nce_with_a_queue_and_with_in_batch_negatives():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    k = torch.tensor([[0.6, 0.8], [0.0, 1.0]])
    queue = torch.tensor([[-1.0, 0.0], [0.8, 0.6], [0.0, -1.0]])
    t = 0.2
    logits = moco_logits(q, k, queue, t)
    assert logits.shape == (2, 4)
    # sample 0: positive 0.6, negatives -1, 0.8, 0
    hand0 = -(0.6 / t - lse([0.6 / t, -1 / t, 0.8 / t, 0.0]))
    hand1 = -(1.0 / t - lse([1.0 / t, 0.0, 0.6 / t, -1 / t]))
    assert info_nce_loss(q, k, queue, t).item() == pytest.approx((hand0 + hand1) / 2, rel=1e-6)
    # without a queue the other keys are the negatives
    hand0 = -(0.6 / t - lse([0.6 / t, 0.0]))
    hand1 = -(1.0 / t - lse([1.0 / t, 0.8 / t]))
    assert info_nce_loss(q, k, None, t).item() == pytest.approx((hand0 + hand1) / 2, rel=1e-6)
    built = MODELS.build(dict(type="InfoNCELoss", temperature=t))
    assert isinstance(built, InfoNCELoss)
    assert built(5 * q, 2 * k, queue).item() == pytest.approx(
        info_nce_loss(q, k, queue, t).item(), rel=1e-6)


def test_proxy_contrastive_registered_matches_the_function():
    feats, proxies = torch.randn(6, 4), torch.randn(3, 4)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    built = MODELS.build(dict(type="ProxyContrastiveLoss", temperature=0.3, sample_pairs=True))
    assert isinstance(built, ProxyContrastiveLoss)
    torch.testing.assert_close(built(feats, proxies, labels),
                               proxy_contrastive_loss(feats, proxies, labels, 0.3, True))
    # hand case: one sample, contrast set = the proxy of its own class only -> loss 0
    assert proxy_contrastive_loss(torch.tensor([[1.0, 0.0, 0.0, 0.0]]), proxies,
                                  torch.tensor([1]), 0.3).item() == pytest.approx(0.0, abs=1e-6)


def test_asymmetric_consistency_is_the_official_cross_entropy_and_one_directional():
    teacher = torch.tensor([[2.0, 0.0, 0.0]], requires_grad=True)
    student = torch.tensor([[0.0, 1.0, 0.0]], requires_grad=True)
    p = [math.exp(2) / (math.exp(2) + 2), 1 / (math.exp(2) + 2), 1 / (math.exp(2) + 2)]
    log_q = [0 - lse([0, 1, 0]), 1 - lse([0, 1, 0]), 0 - lse([0, 1, 0])]
    hand = -sum(pi * li for pi, li in zip(p, log_q))
    loss = asymmetric_consistency_loss(student, teacher)
    assert loss.item() == pytest.approx(hand, rel=1e-6)
    # official: -mean(sum(log(softmax(student)) * softmax(teacher).detach()))
    official = -torch.mean(torch.sum(torch.log(torch.softmax(student, 1))
                                     * torch.softmax(teacher, 1).detach(), 1))
    assert loss.item() == pytest.approx(official.item(), rel=1e-6)
    loss.backward()
    assert teacher.grad is None and student.grad.abs().sum() > 0


def test_hiclr_loss_is_infonce_plus_the_mean_of_the_chained_consistencies():
    torch.manual_seed(0)
    q0, q1, q2, k = (F.normalize(torch.randn(4, 8), dim=1) for _ in range(4))
    queue = F.normalize(torch.randn(16, 8), dim=1)
    t = 0.07
    losses = hiclr_loss([q0, q1, q2], k, queue, t)
    l0, l1, l2 = (moco_logits(q, k, queue, t) for q in (q0, q1, q2))
    official_1 = F.cross_entropy(l0, torch.zeros(4, dtype=torch.long))
    loss2 = -torch.mean(torch.sum(torch.log(torch.softmax(l1, 1)) * torch.softmax(l0, 1), 1))
    loss3 = -torch.mean(torch.sum(torch.log(torch.softmax(l2, 1)) * torch.softmax(l1, 1), 1))
    total = losses["loss_infonce"] + losses["loss_consistency"]
    torch.testing.assert_close(total, official_1 + (loss2 + loss3) / 2, rtol=1e-5, atol=1e-5)
    built = MODELS.build(dict(type="HiCLRLoss", temperature=t, consistency_weight=0.5))
    assert isinstance(built, HiCLRLoss)
    out = built([3 * q0, q1, q2], 2 * k, queue)
    torch.testing.assert_close(out["loss_consistency"], 0.5 * losses["loss_consistency"])


def test_masked_reconstruction_losses_count_only_masked_positions():
    pred = torch.tensor([[[1.0, 1.0], [0.0, 0.0]], [[5.0, 5.0], [2.0, 0.0]]])  # [2, 2, C=2]
    target = torch.tensor([[[0.0, 1.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 2.0]]])
    mask = torch.tensor([[True, False], [False, True]])
    # masked entries: (0, 0): mean((1, 0)^2) = 0.5 ; (1, 1): mean((2, -2)^2) = 4
    assert masked_mse(pred, target, mask).item() == pytest.approx((0.5 + 4) / 2)
    # cosine: (1, 1) vs (0, 1) -> 1 - 1/sqrt2 ; (2, 0) vs (0, 2) -> 1
    sce = ((1 - 1 / math.sqrt(2)) ** 2 + 1.0) / 2
    assert masked_sce(pred, target, mask, alpha=2).item() == pytest.approx(sce, rel=1e-6)
    built = MODELS.build(dict(type="MaskedReconstructionLoss", kind="sce", alpha=2))
    assert isinstance(built, MaskedReconstructionLoss)
    assert built(pred, target, mask).item() == pytest.approx(sce, rel=1e-6)
    with pytest.raises(ValueError, match="kind"):
        MaskedReconstructionLoss(kind="l1")


def test_continual_strategies_use_the_registered_losses_with_the_same_values():
    from zoo.continual.strategies import _common, pcr, prd

    assert _common.supcon_loss is supcon_loss and prd.supcon_loss is supcon_loss
    assert pcr.proxy_contrastive_loss is proxy_contrastive_loss
    # the values the strategies got from their private copies (frozen at the move)
    torch.manual_seed(3)
    feats = F.normalize(torch.randn(8, 5), dim=1)
    labels = torch.tensor([0, 1, 0, 1, 2, 2, 0, 3])
    sim = feats @ feats.T / 0.2
    eye = torch.eye(8, dtype=torch.bool)
    log_prob = sim.masked_fill(eye, -1e9).log_softmax(1)
    pos = (labels[:, None] == labels[None]) & ~eye
    valid = pos.sum(1) > 0
    expected = -((log_prob * pos).sum(1)[valid] / pos.sum(1)[valid]).mean()
    torch.testing.assert_close(_common.supcon_loss(feats, labels, 0.2), expected)
    proxies = torch.randn(4, 5)
    logits = feats @ F.normalize(proxies[labels], dim=1).T / 0.09
    same = labels[:, None] == labels[None]
    expected = -((logits.log_softmax(1) * same).sum(1) / same.sum(1)).mean()
    torch.testing.assert_close(pcr.proxy_contrastive_loss(feats, proxies, labels, 0.09),
                               expected)
