"""Grad-CAM++ (zoo.analysis.grad_cam): the weight formula by hand, and maps whose answer is
known by construction."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from zoo.analysis.grad_cam import GradCAMPlusPlus, gradcam_pp_weights


def test_weights_match_a_hand_computed_case():
    # one channel, A = [[1, 2], [3, 0]] (sum 6), dS/dA = [[1, -1], [2, 0]]
    a = torch.tensor([[[[1.0, 2.0], [3.0, 0.0]]]])
    g = torch.tensor([[[[1.0, -1.0], [2.0, 0.0]]]])
    # alpha = g^2 / (2 g^2 + 6 g^3): 1/8, 1/(2-6) = -1/4, 4/(8+48) = 1/14, 0 (0/0)
    # w = sum alpha relu(g) = 1/8 * 1 + 1/14 * 2
    expected = 1 / 8 + 2 / 14
    w = gradcam_pp_weights(a, g)
    assert w.shape == (1, 1)
    assert w.item() == pytest.approx(expected, rel=1e-12)
    # the exp(S) factor of the paper's Y = exp(S)
    w2 = gradcam_pp_weights(a, g, scores=torch.tensor([math.log(3.0)]))
    assert w2.item() == pytest.approx(3 * expected, rel=1e-6)  # float32 log(3)
    # a channel with only negative gradients gets weight 0
    assert gradcam_pp_weights(a, -g.abs()).item() == 0.0


class TwoDetectors(nn.Module):
    """Channel k of ``feat`` = relu(3x3 box filter of input channel k); class k's score is the
    mean of channel k. So class k's evidence lies exactly where input channel k is bright."""

    def __init__(self):
        super().__init__()
        self.feat = nn.Conv2d(2, 2, 3, padding=1, bias=False, groups=2)
        with torch.no_grad():
            self.feat.weight.fill_(1.0 / 9)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.feat(x)).mean(dim=(2, 3))


def _squares(n: int, size: int = 32, side: int = 6, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 2, size, size)
    boxes = []
    for i in range(n):
        pos = []
        for ch in range(2):
            r, c = torch.randint(0, size - side, (2,), generator=gen).tolist()
            x[i, ch, r:r + side, c:c + side] = 1.0
            pos.append((r, c))
        boxes.append(pos)
    return x, boxes


def test_map_peaks_on_the_class_evidence():
    x, boxes = _squares(6)
    cam = GradCAMPlusPlus(TwoDetectors().eval(), "feat")
    for cls in (0, 1):
        maps = cam(x, cls)
        assert maps.shape == (6, 32, 32)
        assert float(maps.min()) >= 0.0 and float(maps.max()) == pytest.approx(1.0)
        for i, pos in enumerate(boxes):
            r, c = pos[cls]
            peak = divmod(int(maps[i].argmax()), 32)
            assert r <= peak[0] < r + 6 and c <= peak[1] < c + 6
            interior = maps[i, r + 1:r + 5, c + 1:c + 5]  # box filter = 1 fully inside
            # away from this class's square (and its 1-px blur) the map is 0
            far = torch.ones(32, 32, dtype=torch.bool)
            far[max(r - 2, 0):r + 8, max(c - 2, 0):c + 8] = False
            assert torch.allclose(interior, torch.ones_like(interior), atol=1e-5)
            assert float(maps[i][far].max()) < 1e-6


def test_upsampling_and_per_sample_class_index():
    class Pooled(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = TwoDetectors()
            self.pool = nn.AvgPool2d(4)  # explained layer at 1/4 resolution

        def forward(self, x):
            return self.pool(self.body.act(self.body.feat(x))).mean(dim=(2, 3))

    model = Pooled().eval()
    x, boxes = _squares(2, size=32, side=8, seed=1)
    cam = GradCAMPlusPlus(model, "pool")
    maps = cam(x, torch.tensor([0, 1]))
    assert maps.shape == (2, 32, 32)  # upsampled from 8 x 8
    for i, cls in enumerate((0, 1)):
        r, c = boxes[i][cls]
        peak = divmod(int(maps[i].argmax()), 32)
        assert r - 4 <= peak[0] < r + 12 and c - 4 <= peak[1] < c + 12


def test_bad_layer_and_class_are_clear_errors():
    model = TwoDetectors()
    with pytest.raises(KeyError, match="no layer 'backbone'"):
        GradCAMPlusPlus(model, "backbone")
    cam = GradCAMPlusPlus(model, "feat")
    with pytest.raises(ValueError, match="class_index 5"):
        cam(torch.rand(1, 2, 8, 8), 5)


def test_constant_evidence_gives_a_zero_map():
    cam = GradCAMPlusPlus(TwoDetectors().eval(), "feat")
    maps = cam(torch.zeros(1, 2, 8, 8), 0)  # no activation anywhere
    assert torch.equal(maps, torch.zeros(1, 8, 8))
