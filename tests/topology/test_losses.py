"""Topology losses: equality with MONAI's clDice losses and hand-computed Skeleton Recall."""
from __future__ import annotations

import pytest
import torch
from monai.losses import DiceCELoss as MonaiDiceCE
from monai.losses import SoftclDiceLoss, SoftDiceclDiceLoss
from monai.losses.cldice import soft_skel
from zoo.losses.soft_skeleton import soft_skeleton

from zoo.registry import MODELS


def _inputs(shape, classes, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn((shape[0], classes, *shape[1:]), generator=g) * 2
    target = torch.randint(0, max(classes, 2), (shape[0], 1, *shape[1:]), generator=g)
    return logits, target


@pytest.mark.parametrize("shape", [(2, 24, 20), (2, 12, 10, 14)])
def test_soft_skeleton_equals_monai(shape):
    probs = torch.rand((shape[0], 2, *shape[1:]), generator=torch.Generator().manual_seed(1))
    for iters in (0, 3, 5):
        torch.testing.assert_close(soft_skeleton(probs, iters), soft_skel(probs, iters))


@pytest.mark.parametrize("shape,classes", [((2, 32, 28), 3), ((2, 12, 10, 14), 3),
                                           ((3, 32, 32), 2)])
def test_cldice_multiclass_softmax_equals_monai(shape, classes):
    logits, target = _inputs(shape, classes)
    for bg in (False, True):
        ours = MODELS.build(dict(type="SoftClDiceLoss", iters=3, include_background=bg))
        ref = SoftclDiceLoss(iter_=3, softmax=True, to_onehot_y=True, include_background=bg)
        torch.testing.assert_close(ours(logits, target), ref(logits, target))
        ours = MODELS.build(dict(type="DiceClDiceLoss", alpha=0.3, include_background=bg))
        ref = SoftDiceclDiceLoss(iter_=3, alpha=0.3, softmax=True, to_onehot_y=True,
                                 include_background=bg)
        torch.testing.assert_close(ours(logits, target), ref(logits, target))


@pytest.mark.parametrize("shape", [(2, 40, 36), (2, 16, 12, 10)])
def test_cldice_binary_equals_monai(shape):
    # 1-channel sigmoid output and probabilities (no activation), 2-D and 3-D
    logits, target = _inputs(shape, 1)
    target = target.float()
    ours = MODELS.build(dict(type="SoftClDiceLoss", activation="sigmoid", iters=5, smooth=1e-3))
    ref = SoftclDiceLoss(iter_=5, sigmoid=True, smooth=1e-3)
    torch.testing.assert_close(ours(logits, target), ref(logits, target))
    probs = logits.sigmoid()
    ours = MODELS.build(dict(type="DiceClDiceLoss", activation=None, iters=2))
    ref = SoftDiceclDiceLoss(iter_=2)
    torch.testing.assert_close(ours(probs, target), ref(probs, target))
    per = MODELS.build(dict(type="SoftClDiceLoss", activation=None, reduction="none"))
    torch.testing.assert_close(per(probs, target), SoftclDiceLoss(reduction="none")(probs, target))


def test_cldice_gradient_and_perfect_prediction():
    target = torch.zeros(1, 1, 32, 32, dtype=torch.long)
    target[0, 0, 10:13, :] = 1
    logits = torch.randn(1, 2, 32, 32, requires_grad=True)
    loss = MODELS.build(dict(type="DiceClDiceLoss"))(logits, target)
    loss.backward()
    assert logits.grad.abs().sum() > 0
    perfect = torch.nn.functional.one_hot(target[:, 0], 2).movedim(-1, 1).float() * 40 - 20
    assert MODELS.build(dict(type="SoftClDiceLoss"))(perfect, target) < 1e-3
    assert MODELS.build(dict(type="SoftClDiceLoss"))(-perfect, target) > 0.9


def test_dice_ce_equals_monai():
    logits, target = _inputs((2, 24, 24), 3)
    ours = MODELS.build(dict(type="DiceCELoss"))
    torch.testing.assert_close(ours(logits, target),
                               MonaiDiceCE(to_onehot_y=True, softmax=True)(logits, target))


def test_skeleton_recall_hand_computed():
    skel = torch.zeros(1, 1, 10, 10, dtype=torch.long)
    skel[0, 0, 4:6, :] = 1  # 20 skeleton pixels
    probs_fg = torch.zeros(1, 10, 10)
    probs_fg[0, 4, :] = 1.0  # covers 10 of the 20 with probability 1
    probs_fg[0, 5, :] = 0.5  # and the other 10 with 0.5
    big = 30.0  # logits giving softmax probabilities of (almost exactly) probs_fg
    logit_fg = torch.logit(probs_fg.clamp(1e-9, 1 - 1e-9)).clamp(-big, big)
    logits = torch.stack([torch.zeros_like(logit_fg), logit_fg], 1)
    loss = MODELS.build(dict(type="SkeletonRecallLoss"))(logits, None, skel)
    assert loss.item() == pytest.approx(1 - 15 / 20, abs=1e-5)
    # sigmoid, 1-channel: the same recall
    loss = MODELS.build(dict(type="SkeletonRecallLoss", activation="sigmoid"))(
        logit_fg[:, None], None, skel)
    assert loss.item() == pytest.approx(0.25, abs=1e-5)
    total = MODELS.build(dict(type="DiceCESkeletonRecallLoss"))
    target = skel.clone()
    expected = MonaiDiceCE(to_onehot_y=True, softmax=True)(logits, target) + 0.25
    torch.testing.assert_close(total(logits, target, skel), expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="TubedSkeleton"):
        total(logits, target, None)


def test_skeleton_recall_3d_multiclass():
    skel = torch.zeros(2, 1, 6, 6, 6, dtype=torch.long)
    skel[:, 0, 2, 2, :] = 1
    skel[:, 0, 4, 4, :] = 2
    logits = torch.full((2, 3, 6, 6, 6), -20.0)
    logits[:, 1][skel[:, 0] == 1] = 20.0  # class 1 found (p = 1)
    # on the class-2 tube all three logits are equal: p = 1/3 -> recall (1 + 1/3) / 2
    loss = MODELS.build(dict(type="SkeletonRecallLoss"))(logits, None, skel)
    assert loss.item() == pytest.approx(1 - (1 + 1 / 3) / 2, abs=1e-4)


def test_loss_input_errors():
    loss = MODELS.build(dict(type="SoftClDiceLoss"))
    with pytest.raises(ValueError, match="does not match"):
        loss(torch.randn(1, 2, 8, 8), torch.zeros(1, 1, 8, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="labels must be in"):
        loss(torch.randn(1, 2, 8, 8), torch.full((1, 1, 8, 8), 5))
    with pytest.raises(ValueError, match="activation"):
        MODELS.build(dict(type="SoftClDiceLoss", activation="relu"))


@pytest.mark.parametrize("shape", [(2, 3, 24, 20), (1, 2, 12, 10, 14)])
def test_soft_skeleton_gradient_equals_monai(shape):
    """The zoo's soft skeleton (shifted-view minima / maxima with their own backward, issue
    21) has MONAI's values exactly and its gradient up to rounding, and clDice on it too."""
    g = torch.Generator().manual_seed(2)
    probs = torch.rand(shape, generator=g)
    weight = torch.randn(shape, generator=g)
    ours, ref = probs.clone().requires_grad_(True), probs.clone().requires_grad_(True)
    a, b = soft_skeleton(ours, 3), soft_skel(ref, 3)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    (a * weight).sum().backward()
    (b * weight).sum().backward()
    assert ref.grad.abs().sum() > 0
    torch.testing.assert_close(ours.grad, ref.grad, rtol=1e-5, atol=1e-5)
    logits, target = _inputs(shape[:1] + shape[2:], 3)
    x, y = logits.clone().requires_grad_(True), logits.clone().requires_grad_(True)
    MODELS.build(dict(type="SoftClDiceLoss"))(x, target).backward()
    SoftclDiceLoss(softmax=True, to_onehot_y=True, include_background=False)(y, target).backward()
    torch.testing.assert_close(x.grad, y.grad, rtol=1e-5, atol=1e-7)


def test_soft_skeleton_rejects_other_ranks():
    with pytest.raises(ValueError, match="soft_erode needs"):
        soft_skeleton(torch.rand(2, 3, 4))


@pytest.mark.parametrize("shape,classes,activation", [
    ((2, 40, 36), 3, "softmax"), ((2, 12, 10, 14), 2, "softmax"),
    ((2, 20, 20), 1, "sigmoid"), ((2, 20, 22), 3, "sigmoid")])
def test_sparse_skeleton_recall_equals_the_dense_formula(shape, classes, activation):
    """Skeleton Recall on the skeleton voxels only (issue 21) = the dense one-hot formula,
    values and gradients, including a class absent from one sample."""
    from zoo.losses._seg_utils import activate, to_one_hot
    from zoo.losses.skeleton_recall import soft_skeleton_recall

    g = torch.Generator().manual_seed(3)
    logits = torch.randn((shape[0], classes, *shape[1:]), generator=g) * 2
    skel = torch.randint(0, max(classes, 2), (shape[0], 1, *shape[1:]), generator=g)
    skel = skel * (torch.rand(skel.shape, generator=g) < 0.1)
    if classes == 3:
        skel[1][skel[1] == 2] = 0
    sparse_in, dense_in = logits.clone().requires_grad_(True), logits.clone().requires_grad_(True)
    loss = MODELS.build(dict(type="SkeletonRecallLoss", activation=activation))
    sparse = loss(sparse_in, None, skel)
    probs, onehot = activate(dense_in, activation), to_one_hot(skel, classes)
    if classes > 1:
        probs, onehot = probs[:, 1:], onehot[:, 1:]
    dense = 1.0 - soft_skeleton_recall(probs, onehot)
    torch.testing.assert_close(sparse, dense)
    sparse.backward()
    dense.backward()
    torch.testing.assert_close(sparse_in.grad, dense_in.grad)
    assert dense_in.grad.abs().sum() > 0
    if classes > 1:
        with pytest.raises(ValueError, match="skel labels must be in"):
            loss(logits, None, skel + classes * (skel > 0))
