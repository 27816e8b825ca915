"""Attacks on a small ST-GCN trained on the synthetic actions: budgets, constraints, effect."""
from __future__ import annotations

import pytest
import torch
from mmengine.registry import init_default_scope

from zoo.attacks import (
    FGSM,
    IFGSM,
    MIFGSM,
    PGD,
    SMIFGSM,
    RandomSign,
    acceleration_deviation,
    bone_lengths,
    project_bones,
)
from zoo.registry import ATTACKS

LAYOUT = "ntu25"
EPS = 0.05


def accuracy(model, x, y) -> float:
    with torch.no_grad():
        return float((model.logits(x).argmax(1) == y).float().mean())


def test_registry_builds_attacks_by_name():
    init_default_scope("zoo")
    attack = ATTACKS.build(dict(type="PGD", eps=0.01, steps=3, layout=LAYOUT, keep_bones=True))
    assert isinstance(attack, PGD) and attack.eps == 0.01 and attack.constraints.keep_bones


@pytest.mark.parametrize("cls", [FGSM, IFGSM, PGD, MIFGSM, SMIFGSM])
def test_linf_budget_holds(cls, small_model, synthetic_data):
    _, (x, y) = synthetic_data
    x_adv = cls(eps=EPS, steps=3)(small_model, x[:8], y[:8])
    assert x_adv.shape == x[:8].shape
    delta = (x_adv - x[:8]).abs()
    assert float(delta.max()) <= EPS + 1e-6
    assert float(delta.max()) > 0.5 * EPS  # the attack did move the joints


def test_padding_frames_stay_zero(small_model, synthetic_data):
    _, (x, y) = synthetic_data
    x = x[:4].clone()
    x[:, :, :, -3:] = 0  # last three frames are padding
    x_adv = PGD(eps=EPS, steps=2)(small_model, x, y[:4])
    assert torch.equal(x_adv[:, :, :, -3:], torch.zeros_like(x_adv[:, :, :, -3:]))


def test_zero_budget_changes_nothing(small_model, synthetic_data):
    _, (x, y) = synthetic_data
    assert torch.equal(PGD(eps=0.0, steps=3)(small_model, x[:6], y[:6]), x[:6])
    x_adv = SMIFGSM(eps=0.0, steps=3, layout=LAYOUT, keep_bones=True)(small_model, x[:6], y[:6])
    assert torch.allclose(x_adv, x[:6], atol=1e-6)


@pytest.mark.parametrize("cls", [PGD, SMIFGSM])
def test_bone_lengths_kept_after_attack(cls, small_model, synthetic_data):
    _, (x, y) = synthetic_data
    x_adv = cls(eps=EPS, steps=4, layout=LAYOUT, keep_bones=True)(small_model, x, y)
    dev = (bone_lengths(x_adv, LAYOUT) - bone_lengths(x, LAYOUT)).abs()
    assert float(dev.max()) < 1e-5
    assert float((x_adv - x).abs().max()) <= EPS + 1e-6
    assert float((x_adv - x).abs().mean()) > 0.1 * EPS  # constrained, not frozen


def test_unconstrained_attack_changes_bone_lengths(small_model, synthetic_data):
    """Control for the test above: without the projection the bone lengths do change."""
    _, (x, y) = synthetic_data
    x_adv = PGD(eps=EPS, steps=4)(small_model, x[:8], y[:8])
    dev = (bone_lengths(x_adv, LAYOUT) - bone_lengths(x[:8], LAYOUT)).abs()
    assert float(dev.max()) > 1e-2


def test_bone_projection_is_root_outwards_and_exact():
    torch.manual_seed(0)
    x = torch.randn(3, 10, 25, 3)
    noisy = x + 0.3 * torch.randn_like(x)
    out = project_bones(noisy, x, LAYOUT)
    assert torch.allclose(bone_lengths(out, LAYOUT), bone_lengths(x, LAYOUT), atol=1e-5)
    # the centre joint (spine_shoulder, 20) keeps its adversarial position
    assert torch.allclose(out[..., 20, :], noisy[..., 20, :])


def test_acceleration_bound_holds(small_model, synthetic_data):
    _, (x, y) = synthetic_data
    bound = 0.01
    for keep_bones in (False, True):
        attack = PGD(eps=EPS, steps=3, layout=LAYOUT, keep_bones=keep_bones, max_accel=bound)
        x_adv = attack(small_model, x[:8], y[:8])
        assert float(acceleration_deviation(x_adv, x[:8]).max()) <= bound * (1 + 1e-4)
        assert float((x_adv - x[:8]).abs().max()) <= EPS + 1e-6
        assert float((x_adv - x[:8]).abs().max()) > 0  # not collapsed to the clean input
        if keep_bones:
            dev = (bone_lengths(x_adv, LAYOUT) - bone_lengths(x[:8], LAYOUT)).abs()
            assert float(dev.max()) < 1e-5


def test_pgd_reduces_accuracy(small_model, synthetic_data):
    _, (x, y) = synthetic_data
    clean = accuracy(small_model, x, y)
    assert clean >= 0.75, f"the small model did not learn the synthetic actions ({clean:.2f})"
    adv = accuracy(small_model, PGD(eps=EPS, steps=5)(small_model, x, y), y)
    assert adv <= clean - 0.3, (clean, adv)


def test_random_sign_control_uses_the_budget_and_is_weaker_than_pgd(small_model, synthetic_data):
    _, (x, y) = synthetic_data
    x_rand = RandomSign(eps=EPS, layout=LAYOUT)(None, x)  # no model needed
    delta = (x_rand - x).abs()
    assert torch.allclose(delta[x.abs().flatten(3).sum(-1) > 0].max(), torch.tensor(EPS))
    assert torch.equal(RandomSign(eps=EPS)(None, x), x_rand)  # seeded
    kept = RandomSign(eps=EPS, layout=LAYOUT, keep_bones=True)(None, x)
    assert float((bone_lengths(kept, LAYOUT) - bone_lengths(x, LAYOUT)).abs().max()) < 1e-5
    pgd = accuracy(small_model, PGD(eps=EPS, steps=5)(small_model, x, y), y)
    assert accuracy(small_model, x_rand, y) > pgd + 0.2
