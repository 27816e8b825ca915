"""HaLP: the closed-form step on hand cases, the hallucinated positives' geometry, the
prototypes, the loss, and the model (warm-up, learning, reduction to MoCo)."""
from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from zoo.losses.contrastive import info_nce_loss
from zoo.losses.halp import halp_alignment_loss
from zoo.models.selfsup.latent_positives import (
    hallucinate_positives,
    max_positive_step,
    slerp,
    spherical_kmeans,
)

from zoo.registry import MODELS

init_default_scope("zoo")

BACKBONE = dict(type="STGCN", graph_cfg=dict(layout="ntu25", mode="stgcn_spatial"),
                base_channels=4, num_stages=3, inflate_stages=(2,), down_stages=(2,))


def at(deg: float, dim: int = 3) -> torch.Tensor:
    """Unit vector at ``deg`` degrees in the first two coordinates."""
    v = torch.zeros(dim, dtype=torch.float64)
    v[0], v[1] = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return v


def test_lambda_max_is_the_bisector_of_the_two_prototypes_on_hand_cases():
    # anchor at 0 deg, own prototype at 20 deg, target at 90 deg: the great circle leaves
    # the own prototype's cell at their bisector, 55 deg -> lambda_max = 55 / 90
    k, own, tgt = at(0)[None], at(20)[None], at(90)[None]
    lam = max_positive_step(k, own, tgt)
    torch.testing.assert_close(lam, torch.tensor([55 / 90], dtype=torch.float64))
    z = slerp(k, tgt, lam)
    torch.testing.assert_close(z, at(55)[None])
    torch.testing.assert_close(z.norm(dim=1), torch.ones(1, dtype=torch.float64))
    torch.testing.assert_close((z * own).sum(), (z * tgt).sum())  # on the boundary
    # the official closed form atan(sin w / (K + cos w)) / w with K = c / a agrees here
    w = math.pi / 2
    a = math.cos(math.radians(20))
    c = 1 - math.cos(math.radians(70))
    assert lam.item() == pytest.approx(math.atan(math.sin(w) / (c / a + math.cos(w))) / w)
    # anchor 0, own 100, target 170 deg: bisector at 135 deg; here K + cos w < 0 and the
    # official atan would give a negative step, atan2 the right one
    lam2 = max_positive_step(at(0)[None], at(100)[None], at(170)[None])
    assert lam2.item() == pytest.approx(135 / 170)
    # the anchor already on the boundary: no room to move
    assert max_positive_step(at(0)[None], at(30)[None], at(-30)[None]).item() == \
        pytest.approx(0.0, abs=1e-7)


def test_generated_positives_lie_on_the_great_circle_and_stay_positives():
    torch.manual_seed(0)
    d = 16
    anchors = F.normalize(torch.randn(32, d, dtype=torch.float64), dim=1)
    protos = F.normalize(torch.randn(10, d, dtype=torch.float64), dim=1)
    z, keep, lam, target = hallucinate_positives(anchors, protos, 7, (0.2, 1.0),
                                                 skip_closest=1, num_targets=20)
    assert z.shape == (32, 7, d) and keep.shape == lam.shape == target.shape == (32, 7)
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(32, 7, dtype=torch.float64))
    own_idx = (anchors @ protos.T).argmax(1)
    assert (target != own_idx[:, None]).all()  # never towards its own prototype
    k = anchors[:, None].expand_as(z)
    tgt, own = protos[target], protos[own_idx][:, None].expand_as(z)
    # on the great circle through anchor and target: z is in their span ...
    basis_u = k
    basis_v = F.normalize(tgt - (tgt * k).sum(-1, keepdim=True) * k, dim=-1)
    proj = (z * basis_u).sum(-1, keepdim=True) * basis_u + (z * basis_v).sum(-1, keepdim=True) \
        * basis_v
    torch.testing.assert_close(proj, z)
    # ... between them, at angle lambda * w from the anchor: z . k = cos(lambda w)
    omega = torch.acos((k * tgt).sum(-1))
    torch.testing.assert_close((z * k).sum(-1), torch.cos(lam * omega))
    torch.testing.assert_close((z * tgt).sum(-1), torch.cos((1 - lam) * omega))
    # the paper's constraint: still at least as close to its own prototype as to the target
    assert ((z * own).sum(-1) >= (z * tgt).sum(-1) - 1e-9).all()
    lam_max = max_positive_step(k, own, tgt)
    ratio = lam / lam_max
    assert (ratio >= 0.2 - 1e-9).all() and (ratio <= 1 + 1e-9).all()
    # keep = the nearest prototype of the positive is still the anchor's
    torch.testing.assert_close(keep, (z @ protos.T).argmax(-1) == own_idx[:, None])
    assert keep.float().mean() > 0.5


def test_spherical_kmeans_finds_separated_clusters():
    g = torch.Generator().manual_seed(0)
    centres = torch.eye(4)
    points = F.normalize(centres.repeat_interleave(25, 0) + 0.05 * torch.randn(100, 4,
                                                                               generator=g),
                         dim=1)
    protos = spherical_kmeans(points, 4, generator=g)
    torch.testing.assert_close(protos.norm(dim=1), torch.ones(4))
    # every true centre has a prototype within a few degrees
    assert ((centres @ protos.T).max(1).values > 0.99).all()
    with pytest.raises(ValueError, match="prototypes"):
        spherical_kmeans(points[:3], 4)


def test_halp_loss_hand_case():
    q = torch.tensor([[1.0, 0.0]])
    z = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]]])
    keep = torch.tensor([[True, False, True]])
    # -(1 / 0.5 + 0.6 / 0.5) / 2 kept
    assert halp_alignment_loss(q, z, keep, 0.5).item() == pytest.approx(-1.6)
    loss = MODELS.build(dict(type="HaLPLoss", temperature=0.5, loss_weight=2.0))
    assert loss(3 * q, z, keep).item() == pytest.approx(-3.2)  # normalised, times mu
    assert halp_alignment_loss(q, z, torch.zeros_like(keep), 0.5).item() == 0.0


def build(kind: str, **kw):
    cfg = dict(type=kind, backbone=BACKBONE, feature_dim=8, queue_size=12, momentum=0.9)
    cfg.update(kw)
    return MODELS.build(cfg)


def halp(**kw):
    cfg = dict(num_prototypes=3, prototype_keys=12, update_every=2, num_positives=5,
               warmup_keys=8)
    cfg.update(kw)
    return build("HaLP", **cfg)


def test_halp_warms_up_then_fits_prototypes_and_adds_its_loss():
    torch.manual_seed(0)
    model = halp().eval()
    views = torch.randn(4, 2, 1, 1, 8, 25, 3)
    with torch.no_grad():
        first = model(views, mode="loss")
        assert first["loss_halp"].item() == 0.0 and not bool(model.prototypes_ready)
        model(views, mode="loss")  # 8 keys seen: the next step fits the prototypes first
        assert not bool(model.prototypes_ready)
        queue = model.queue.clone()
        torch.manual_seed(3)
        losses = model(views, mode="loss")
    assert bool(model.prototypes_ready) and int(model.keys_seen) == 12
    torch.testing.assert_close(model.prototypes.norm(dim=1), torch.ones(3))
    # recompute the step by hand: k-means draws first, then the positives
    ref = halp().eval()
    ref.load_state_dict(model.state_dict())
    with torch.no_grad():
        q = F.normalize(ref.project(views[:, 0, 0]), dim=1)
        k = F.normalize(ref.project_key(views[:, 1, 0]), dim=1)
    torch.manual_seed(3)
    # the newest 12 queue entries, oldest first: 4 initial random ones, then the 8 keys
    protos = spherical_kmeans(queue[(torch.arange(12) + 8) % 12], 3)
    z, keep, _, _ = hallucinate_positives(k, protos, 5)
    torch.testing.assert_close(losses["loss_infonce"], info_nce_loss(q, k, queue, 0.07))
    torch.testing.assert_close(losses["loss_halp"], 2.0 * halp_alignment_loss(q, z, keep, 0.07))
    torch.testing.assert_close(model.queue[8:12], k)
    # the prototypes are refitted every update_every steps (step 4 here), not in between
    with torch.no_grad():
        before = model.prototypes.clone()
        model(views, mode="loss")
    assert int(model.step) == 4 and not torch.equal(before, model.prototypes)


def test_halp_without_hallucination_is_moco():
    views = torch.randn(4, 2, 1, 1, 8, 25, 3)
    runs = {}
    for kind in ("SkeletonMoCo", "HaLP"):
        torch.manual_seed(0)
        model = build(kind) if kind == "SkeletonMoCo" else halp(hallucinate=False)
        wrapper = OptimWrapper(torch.optim.SGD(
            [p for p in model.parameters() if p.requires_grad], lr=0.1))
        logs = [model.train_step(dict(inputs=views), wrapper) for _ in range(3)]
        runs[kind] = ([log["loss"].item() for log in logs], model)
    assert runs["SkeletonMoCo"][0] == runs["HaLP"][0]
    moco, halp_model = runs["SkeletonMoCo"][1], runs["HaLP"][1]
    for name, tensor in moco.state_dict().items():
        torch.testing.assert_close(halp_model.state_dict()[name], tensor, msg=name)
    assert "loss_halp" not in halp_model(views, mode="loss")


def test_a_halp_training_step_lowers_its_loss():
    torch.manual_seed(0)
    # a fixed objective: key encoder frozen (momentum 1), the same queue, prototypes and
    # positive draws at every step, so gradient descent must lower it
    model = halp(warmup_keys=0, update_every=1000, momentum=1.0)
    views = torch.randn(8, 2, 1, 1, 16, 25, 3)
    with torch.no_grad():  # fill the queue, then fit the prototypes once
        for _ in range(2):
            model.enqueue(F.normalize(model.project_key(torch.randn(8, 1, 16, 25, 3)), dim=1))
    model.update_prototypes()
    snapshot = copy.deepcopy(model)

    def loss_on_batch(m) -> dict[str, float]:
        """The batch's losses against the snapshot's queue and prototypes, same draws."""
        probe = copy.deepcopy(m)  # train mode: batch statistics, as in the steps
        for name in ("queue", "queue_ptr", "prototypes"):
            getattr(probe, name).copy_(getattr(snapshot, name))
        torch.manual_seed(1)
        with torch.no_grad():
            return {k: v.item() for k, v in probe(views, mode="loss").items()}

    before = loss_on_batch(model)
    assert before["loss_halp"] < 0  # the hallucination term is active
    wrapper = OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.05))
    for _ in range(10):
        torch.manual_seed(1)
        log = model.train_step(dict(inputs=views), wrapper)
        assert log["loss_halp"].item() < 0
        # the same negatives every step: one batch's own keys must not become its negatives
        model.queue.copy_(snapshot.queue)
        model.queue_ptr.copy_(snapshot.queue_ptr)
    after = loss_on_batch(model)
    assert sum(after.values()) < sum(before.values()) - 0.02, (before, after)


def test_halp_config_errors_name_the_key():
    with pytest.raises(ValueError, match="num_prototypes"):
        halp(num_prototypes=20)
    with pytest.raises(ValueError, match="step_range"):
        halp(step_range=(0.5, 1.5))
