"""The skeleton-motion-informed gradient: hand-computed cases, TV-AR fit, effect on a model."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from zoo.attacks import fit_tvar, motion_coefficients, smi_gradient
from zoo.attacks.smi import l1_normalise


def test_smi_gradient_matches_hand_computation():
    # one joint coordinate, five frames: g = [1, 2, 3, 4, 5]
    g = torch.tensor([1.0, 2, 3, 4, 5]).view(5, 1, 1)
    one = torch.tensor([0.5, 0.5, 0.5, 0.5, 0.0]).view(5, 1, 1)  # dx[t+1]/dx[t]
    two = torch.tensor([0.1, 0.2, 0.3, 0.0, 0.0]).view(5, 1, 1)  # dx[t+2]/dx[t]
    expected = torch.tensor([
        1 + 0.5 * 2 + 0.1 * 3,  # 2.3
        2 + 0.5 * 3 + 0.2 * 4,  # 4.3
        3 + 0.5 * 4 + 0.3 * 5,  # 6.5
        4 + 0.5 * 5,            # 6.5 (no frame t+2)
        5.0,                    # last frame: nothing later
    ])
    assert torch.allclose(smi_gradient(g, one, two).flatten(), expected)


def test_tvar_recovers_ar2_and_chain_rule_coefficients():
    # damped oscillation: x[t] = 2 r cos(w) x[t-1] - r^2 x[t-2] exactly
    r, w, frames = 0.97, 0.4, 32
    t = torch.arange(frames, dtype=torch.float64)
    x = (r**t * torch.cos(w * t + 0.3)).float()
    a1, a2 = 2 * r * math.cos(w), -(r**2)
    coef = fit_tvar(x[None], 2, ridge=1e-9)[0]
    assert torch.allclose(coef[:, 0], torch.full((frames - 2,), a1), atol=2e-3)
    assert torch.allclose(coef[:, 1], torch.full((frames - 2,), a2), atol=2e-3)
    one, two = motion_coefficients(x.view(frames, 1, 1), ridge=1e-9)
    one, two = one.flatten(), two.flatten()
    # dx[t+1]/dx[t] = a1; dx[t+2]/dx[t] = a1 * a1 + a2 (frames with an AR(2) fit at t+1)
    assert torch.allclose(one[1:-1], torch.full((frames - 2,), a1), atol=5e-3)
    assert torch.allclose(two[1:-2], torch.full((frames - 3,), a1 * a1 + a2), atol=5e-3)
    assert one[-1] == 0 and two[-1] == 0 and two[-2] == 0


def test_smi_gradient_differs_and_raises_victim_loss(small_model, synthetic_data):
    _, (x, y) = synthetic_data
    x = x.clone().requires_grad_(True)
    loss = F.cross_entropy(small_model.logits(x), y)
    (grad,) = torch.autograd.grad(loss, x)
    plain = l1_normalise(grad)
    smi = smi_gradient(plain, *motion_coefficients(x.detach()))
    cos = F.cosine_similarity(plain.flatten(), smi.flatten(), dim=0)
    assert cos < 0.99  # temporal information changes the direction
    assert (smi.sign() != plain.sign()).float().mean() > 0.02
    with torch.no_grad():
        stepped = F.cross_entropy(small_model.logits(x + 0.02 * smi.sign()), y)
    assert stepped > loss + 0.05
