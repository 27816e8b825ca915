"""GradientAscent, L1Sparse, SalUn and BadTeacher: their update computed by hand on a tiny
case, and each forgetting class 3 of the briefly trained digits CNN."""
import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from zoo.unlearning.api import run_unlearner
from zoo.unlearning.bad_teacher import bad_teacher_loss
from zoo.unlearning.base import random_init_model
from zoo.unlearning.gradient_ascent import GradientAscent
from zoo.unlearning.l1_sparse import L1Sparse
from zoo.unlearning.report import evaluate
from zoo.unlearning.requests import ForgetRequest
from zoo.unlearning.salun import SalUn, saliency_masks


class Linear2(nn.Module):
    """logits = W x (no bias): the tiny model of the hand-computed cases."""

    def __init__(self, weight):
        super().__init__()
        self.fc = nn.Linear(2, 2, bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor(weight))

    def logits(self, x):
        return self.fc(x)


class OneBatchContext:
    """One forget batch and one retain batch; loading a set that is not allowed fails."""

    def __init__(self, forget, retain, allow_retain=True):
        self.sets = dict(forget=forget, retain=retain)
        self.allow_retain = allow_retain

    def loader(self, which, model, **kwargs):
        if which == "retain" and not self.allow_retain:
            raise AssertionError("the retain set was loaded")
        yield self.sets[which]

    def cycle(self, which, model, **kwargs):
        while True:
            yield from self.loader(which, model)

    def num_batches(self, which, batch_size=None):
        return 1


X = torch.tensor([[1.0, 0.0]])
Y0 = torch.tensor([0])


def test_gradient_ascent_step_by_hand():
    # W = 0: p = (1/2, 1/2); dCE/dW = (p - e_0) x^T = [[-1/2, 0], [1/2, 0]];
    # ascent with SGD (no momentum), lr 0.2: W <- W + 0.2 * dCE/dW
    model = Linear2([[0.0, 0.0], [0.0, 0.0]])
    ga = GradientAscent(epochs=1, lr=0.2, momentum=0.0, max_grad_norm=None)
    ga.unlearn(model, OneBatchContext((X, Y0), None, allow_retain=False))
    assert torch.allclose(model.fc.weight, torch.tensor([[-0.1, 0.0], [0.1, 0.0]]))


def test_l1_sparse_schedule_and_step_by_hand():
    sched = L1Sparse(epochs=4, alpha=1.0, no_l1_epochs=2)
    assert [sched.l1_weight(t) for t in range(4)] == [1.0, 0.5, 0.0, 0.0]
    assert [L1Sparse(epochs=2, alpha=0.3).l1_weight(t) for t in range(2)] == [0.3, 0.15]
    assert L1Sparse(epochs=2, alpha=0.3, no_l1_epochs=2).l1_weight(1) == 0.3
    with pytest.raises(ValueError, match="no_l1_epochs"):
        L1Sparse(epochs=2, no_l1_epochs=3)
    # W = [[1, 0], [0, -2]], x = (1, 0), y = 0: logits (1, 0), p0 = e / (1 + e).
    # dCE/dW = [[p0 - 1, 0], [1 - p0, 0]]; d(gamma * |W|_1)/dW = gamma * sign(W)
    model = Linear2([[1.0, 0.0], [0.0, -2.0]])
    l1 = L1Sparse(epochs=1, lr=0.1, alpha=0.5, momentum=0.0, max_grad_norm=None)
    l1.unlearn(model, OneBatchContext(None, (X, Y0)))
    p0 = math.e / (1 + math.e)
    grad = torch.tensor([[p0 - 1 + 0.5, 0.0], [1 - p0, -0.5]])
    expected = torch.tensor([[1.0, 0.0], [0.0, -2.0]]) - 0.1 * grad
    assert torch.allclose(model.fc.weight, expected, atol=1e-6)


def test_saliency_masks_by_hand():
    grads = [torch.tensor([0.1, -3.0, 0.5]), torch.tensor([[2.0, -0.2]])]
    # ratio 0.4 of 5 weights -> the 2 largest |g| (3 and 2)
    masks = saliency_masks(grads, ratio=0.4)
    assert masks[0].tolist() == [0, 1, 0] and masks[1].tolist() == [[1, 0]]
    masks = saliency_masks(grads, threshold=0.4)
    assert masks[0].tolist() == [0, 1, 1] and masks[1].tolist() == [[1, 0]]
    with pytest.raises(ValueError, match="ratio"):
        saliency_masks(grads, ratio=0.0)


def test_bad_teacher_loss_by_hand():
    student = torch.tensor([[0.0, 0.0], [math.log(3), 0.0]])
    good = torch.tensor([[math.log(3), 0.0], [math.log(3), 0.0]])  # (3/4, 1/4)
    bad = torch.tensor([[0.0, math.log(3)], [0.0, math.log(3)]])  # (1/4, 3/4)
    is_forget = torch.tensor([True, False])
    # sample 0 follows the bad teacher: KL((1/4, 3/4) || (1/2, 1/2)); sample 1 the good one,
    # which the student already matches: 0
    kl0 = 0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5)
    assert abs(float(bad_teacher_loss(student, good, bad, is_forget)) - kl0 / 2) < 1e-6
    # both retain: only sample 0 differs from the good teacher
    kl_good = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)
    loss = bad_teacher_loss(student, good, bad, torch.tensor([False, False]))
    assert abs(float(loss) - kl_good / 2) < 1e-6


def test_random_init_model_is_fresh_and_seeded(trained):
    model, ctx, _ = trained
    a = random_init_model(model, ctx.cfg, seed=0)
    b = random_init_model(model, ctx.cfg, seed=0)
    c = random_init_model(model, None, seed=1)
    for (name, pa), pb, pm in zip(a.named_parameters(), b.parameters(), model.parameters()):
        assert torch.equal(pa, pb), name
        assert not torch.equal(pa, pm), name
    assert sum(not torch.equal(pc, pm) for pc, pm in zip(c.parameters(), model.parameters())) \
        >= len(list(model.parameters())) - 4  # BN affine terms reset to 1 / 0 may coincide


def test_salun_moves_only_salient_weights(model_ctx):
    model, ctx = model_ctx
    ctx.apply_request(ForgetRequest(classes=[3]))
    before = copy.deepcopy(model)
    salun = SalUn(epochs=1, ratio=0.3)
    salun.unlearn(model, ctx)
    # recompute the mask by hand: |sum of forget-batch gradients| >= its 70th percentile
    params = list(before.parameters())
    total = [torch.zeros_like(p) for p in params]
    before.eval()
    for x, y in ctx.loader("forget", before, shuffle=False, training=False):
        grads = torch.autograd.grad(F.cross_entropy(before.logits(x), y), params)
        total = [t + g for t, g in zip(total, grads)]
    flat = torch.cat([g.abs().flatten() for g in total])
    gamma = torch.topk(flat, round(0.3 * flat.numel())).values[-1]
    moved = kept = 0
    for (name, p0), p1, g in zip(before.named_parameters(), model.parameters(), total):
        salient = g.abs() >= gamma
        assert torch.equal(p1[~salient], p0[~salient]), name
        moved += int((p1[salient] != p0[salient]).sum())
        kept += int((~salient).sum())
    assert abs(salun.selected_fraction - 0.3) < 0.01
    assert moved > 0.5 * 0.3 * flat.numel() and kept > 0


@pytest.mark.parametrize("cfg", [
    dict(type="GradientAscent", epochs=3, lr=0.01),
    dict(type="L1Sparse", epochs=5, alpha=1e-2),
    dict(type="SalUn", epochs=1),
    dict(type="BadTeacher", epochs=3, lr=1e-3),
], ids=["ga", "l1_sparse", "salun", "bad_teacher"])
def test_new_unlearner_forgets_class(trained, cfg):
    model, ctx, _ = trained
    ctx.reset()
    ctx.apply_request(ForgetRequest(classes=[3]))
    before = evaluate(model, ctx)
    assert before["forget_acc"] > 90
    metrics, _ = run_unlearner(model, ctx, cfg, [ForgetRequest(classes=[3])])
    print(cfg["type"], {k: v for k, v in metrics.items() if not k.startswith("_")})
    assert metrics["forget_acc"] < 20, metrics
    assert metrics["test_forget_acc"] < 20, metrics
    assert metrics["retain_acc"] > before["retain_acc"] - 15, metrics


def test_unsir_noise_step_by_hand():
    from zoo.unlearning.unsir import optimise_noise

    # W = I, noise n = (1, 0), class 0: p = (e, 1) / (1 + e);
    # d(-CE)/dn = -(p - e_0) = (1 - p0, -p1); d(0.1 * |n|^2)/dn = (0.2, 0).
    # Adam's first step moves every coordinate by lr against the sign of its gradient.
    model = Linear2([[1.0, 0.0], [0.0, 1.0]])
    n = optimise_noise(model, torch.tensor([[1.0, 0.0]]), 0, steps=1, lr=0.1, weight=0.1)
    p1 = 1 / (1 + math.e)
    grad = torch.tensor([p1 + 0.2, -p1])
    assert torch.allclose(n, torch.tensor([[1.0, 0.0]]) - 0.1 * grad.sign(), atol=1e-6)
    # more steps raise the model's error on the class
    far = optimise_noise(model, torch.tensor([[1.0, 0.0]]), 0, steps=20, lr=0.1, weight=0.1)
    assert F.cross_entropy(model.logits(far), Y0) > F.cross_entropy(model.logits(n), Y0)


def test_unsir_forgets_class_and_refuses_sample_requests(trained):
    model, ctx, _ = trained
    metrics, _ = run_unlearner(model, ctx, dict(type="UNSIR"), [ForgetRequest(classes=[3])])
    assert metrics["forget_acc"] < 20 and metrics["test_forget_acc"] < 20, metrics
    assert metrics["retain_acc"] > 85, metrics
    with pytest.raises(ValueError, match="forgets whole classes"):
        run_unlearner(model, ctx, dict(type="UNSIR"), [ForgetRequest(ids=["0", "5"])])
