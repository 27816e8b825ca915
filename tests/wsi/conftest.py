"""Fixtures: a small synthetic cohort of pyramidal TIFF slides and its extracted features."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch


@pytest.fixture(scope="session")
def cohort(tmp_path_factory):
    """6 slides (3 with tumour) of 512 x 768 px at 0.5 um/px, plus labels and annotations."""
    from zoo.datasets.wsi.synthetic import make_synthetic_cohort

    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("wsi_slides")
    slides = make_synthetic_cohort(folder, 6, seed=3, size=(512, 768))
    return folder, slides


@pytest.fixture(scope="session")
def tiny_encoder():
    from zoo.models.mil.encoder import TileEncoder

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TileEncoder("resnet18", out_index=2)


@pytest.fixture(scope="session")
def cohort_features(cohort, tiny_encoder, tmp_path_factory):
    from zoo.datasets.wsi.features import extract_folder, list_slides

    folder, _ = cohort
    out = tmp_path_factory.mktemp("wsi_features")
    report = extract_folder(list_slides(folder), out, tiny_encoder, target_mpp=0.5,
                            tile_px=64, progress=False)
    assert not report.failed
    return out


def synthetic_bags(num_bags: int, dim: int = 16, seed: int = 0, shift: float = 3.0):
    """Feature-space bags: tumour bags hold a contiguous run (a "region" in tile order) of
    instances shifted along a fixed direction. Returns ``[(x [N, D], label, tile_labels)]``."""
    rng = np.random.default_rng(seed)
    direction = np.random.default_rng(1234).normal(size=dim)
    direction /= np.linalg.norm(direction)
    bags = []
    for i in range(num_bags):
        n = int(rng.integers(24, 64))
        x = rng.normal(size=(n, dim)).astype(np.float32)
        tl = np.zeros(n, np.int64)
        label = i % 2
        if label:
            k = int(rng.integers(max(3, n // 8), n // 3))
            start = int(rng.integers(0, n - k))
            tl[start:start + k] = 1
            x[tl == 1] += shift * direction.astype(np.float32)
        bags.append((torch.from_numpy(x), label, torch.from_numpy(tl)))
    return bags
