"""Topology metrics on hand-made masks whose Betti numbers, Dice and clDice are known."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zoo.evaluation.topology import betti_errors, betti_numbers, cldice_score, dice_score, hd95
from zoo.registry import METRICS


def ring(size=40, centre=(20, 20), outer=10, inner=5):
    yy, xx = np.mgrid[:size, :size]
    r2 = (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2
    return (r2 <= outer ** 2) & (r2 > inner ** 2)


def test_betti_2d_hand_cases():
    assert betti_numbers(ring()) == (1, 1)
    two = np.concatenate([ring(), ring()], axis=1)
    assert betti_numbers(two) == (2, 2)
    cut = ring()
    cut[18:23, 24:] = False  # cut the ring on one side: an arc
    assert betti_numbers(cut) == (1, 0)
    yy, xx = np.mgrid[:40, :40]
    disk = (yy - 20) ** 2 + (xx - 20) ** 2 <= 100
    assert betti_numbers(disk) == (1, 0)
    assert betti_numbers(np.zeros((5, 5))) == (0, 0)
    # a grid of lines: 3x3 enclosed cells, cells touching the border are not holes
    grid = np.zeros((21, 21), bool)
    grid[::5, :] = True
    grid[:, ::5] = True
    assert betti_numbers(grid) == (1, 16)
    grid2 = grid[2:19, 2:19]  # outer lines cut off: 3 lines each way -> 2x2 enclosed cells
    assert betti_numbers(grid2) == (1, 4)
    # diagonal pixels are one component (8-connectivity) and enclose nothing
    diag = np.eye(6, dtype=bool)
    assert betti_numbers(diag) == (1, 0)


def test_betti_3d_hand_cases():
    solid = np.zeros((20, 20, 20), bool)
    solid[5:15, 5:15, 5:15] = True
    assert betti_numbers(solid) == (1, 0)
    tunnel = solid.copy()
    tunnel[5:15, 8:12, 8:12] = False  # a cube with a hole through it (a thick ring)
    assert betti_numbers(tunnel) == (1, 1)
    two_tunnels = tunnel.copy()
    two_tunnels[8:12, 5:15, 8:12] = False  # a second, crossing tunnel: b1 = 3 for a cross
    assert betti_numbers(two_tunnels) == (1, 3)
    hollow = solid.copy()
    hollow[7:13, 7:13, 7:13] = False  # a cavity (b2 = 1) is not a 1-cycle
    assert betti_numbers(hollow) == (1, 0)
    pair = np.concatenate([tunnel, solid], axis=0)
    assert betti_numbers(pair) == (2, 1)


def test_betti_errors_and_overlap_scores():
    gt = np.concatenate([ring(), ring()], axis=1)
    pred = np.concatenate([ring(), np.zeros((40, 40), bool)], axis=1)
    assert betti_errors(pred, gt) == (1, 1)
    a = np.zeros((10, 10), bool)
    a[:, :4] = True  # 40 pixels
    b = np.zeros((10, 10), bool)
    b[:, 2:8] = True  # 60 pixels, overlap 20
    assert dice_score(a, b) == pytest.approx(2 * 20 / 100)
    assert dice_score(np.zeros((3, 3)), np.zeros((3, 3))) == 1.0
    assert cldice_score(ring(), ring()) == pytest.approx(1.0)
    assert cldice_score(ring(), np.zeros((40, 40))) == 0.0


def test_cldice_hand_computed():
    gt = np.zeros((21, 41), bool)
    gt[9:12, 5:36] = True  # a 3-px thick bar: its skeleton is the middle row
    pred = gt.copy()
    pred[:, 20:25] = False  # 5 columns missing
    from skimage.morphology import skeletonize

    skel = skeletonize(gt)
    assert skel[:, 20:25].sum() == 5 and skel[10, 20:25].all()  # the middle row crosses the gap
    skel_gt = int(skel.sum())
    tsens = (skel_gt - 5) / skel_gt  # skeleton pixels inside the broken prediction
    tprec = 1.0  # the skeleton of each prediction piece lies inside the ground truth
    expected = 2 * tprec * tsens / (tprec + tsens)
    assert cldice_score(pred, gt) == pytest.approx(expected)


def test_hd95_shift():
    a = np.zeros((40, 40), bool)
    a[10:20, 10:20] = True
    b = np.roll(a, 3, axis=1)
    assert hd95(a, b) == pytest.approx(3.0)
    assert math.isnan(hd95(a, np.zeros_like(a)))


def test_seg_topology_metric_averages_images():
    metric = METRICS.build(dict(type="SegTopologyMetric", num_classes=2))
    gt = np.concatenate([ring(), ring()], axis=1).astype(np.int64)
    perfect = dict(pred_sem_seg=torch.from_numpy(gt), gt_sem_seg=torch.from_numpy(gt))
    half = dict(pred_sem_seg=torch.from_numpy(np.concatenate(
        [ring(), np.zeros((40, 40), bool)], axis=1).astype(np.int64)),
        gt_sem_seg=torch.from_numpy(gt))
    metric.process(None, [perfect, half])
    out = metric.compute_metrics(metric.results)
    assert out["betti0_err"] == pytest.approx(0.5)
    assert out["betti1_err"] == pytest.approx(0.5)
    assert out["dice"] == pytest.approx((1.0 + 2 * 0.5 / 1.5) / 2)
    assert out["hd95_skipped"] == 0
    with pytest.raises(ValueError, match="unknown measures"):
        METRICS.build(dict(type="SegTopologyMetric", measures=("iou",)))
