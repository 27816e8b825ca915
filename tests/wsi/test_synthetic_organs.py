"""The three-organ synthetic cohorts of the continual WSI comparison (CoMEL, issue 25):
tumour drawn exactly where the annotation says, tasks that differ in texture (not only in
stain colour), and the train / val / test split of each task."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.color import rgb2gray
from zoo.datasets.wsi.synthetic import ORGAN_STYLES, make_synthetic_task_cohort, render_slide

SIZE = (320, 448)


def _gradient_energy(rgb: np.ndarray, region: np.ndarray) -> float:
    """Mean gradient magnitude of the grey level standardised inside ``region``: a spatial
    frequency of the texture that ignores stain colour and contrast."""
    g = rgb2gray(rgb)
    inner = ndi.binary_erosion(region, iterations=3)
    z = (g - g[inner].mean()) / (g[inner].std() + 1e-8)
    gy, gx = np.gradient(z)
    return float(np.hypot(gy, gx)[inner].mean())


@pytest.mark.parametrize("style", ORGAN_STYLES)
def test_tumour_is_drawn_where_the_annotation_says(style):
    for seed in (0,):
        with_t, tissue, tumour = render_slide(*SIZE, tumour=True, seed=seed, style=style)
        without, tissue0, none = render_slide(*SIZE, tumour=False, seed=seed, style=style)
        assert np.array_equal(tissue, tissue0) and not none.any()
        assert tumour.any() and not (tumour & ~tissue).any()
        changed = (with_t != without).any(-1)
        assert not (changed & ~tumour).any(), f"{style}: pixels changed outside the annotation"
        assert changed[tumour].mean() > 0.5, f"{style}: tumour barely drawn"


def test_tasks_differ_in_texture_not_only_colour():
    energy = {}
    for style in ORGAN_STYLES:
        values = []
        for seed in (0, 1, 2):
            rgb, tissue, _ = render_slide(*SIZE, tumour=False, seed=seed, style=style)
            values.append(_gradient_energy(rgb, tissue))
        energy[style] = values
    # glands (native scale) > nuclei (2x coarser) > strands (smeared fibres), every slide
    order = ["glands", "nuclei", "strands"]
    for fine, coarse in zip(order, order[1:]):
        assert min(energy[fine]) > 1.3 * max(energy[coarse]), energy


def test_task_cohort_splits_and_labels(tmp_path):
    slides = make_synthetic_task_cohort(tmp_path, ("glands", "strands"), slides_per_task=8,
                                        size=(192, 256), test_fraction=0.25,
                                        val_fraction=0.25)
    rows = list(csv.DictReader((tmp_path / "labels.csv").open()))
    assert len(rows) == len(slides) == 16
    for task in ("t1", "t2"):
        mine = [r for r in rows if r["task"] == task]
        splits = [r["split"] for r in mine]
        assert splits == ["train"] * 4 + ["val"] * 2 + ["test"] * 2
        for split in ("train", "val", "test"):  # both classes in every split
            assert {r["label"] for r in mine if r["split"] == split} == {"0", "1"}
    for s, r in zip(slides, rows):
        assert s.label == int(r["label"]) == int(s.tumour.any())
        assert (tmp_path / "annotations" / f"{r['slide_id']}.npz").is_file()
    with pytest.raises(ValueError, match="unknown slide style"):
        make_synthetic_task_cohort(tmp_path / "x", ("glands", "lungs"), slides_per_task=2)
    with pytest.raises(ValueError, match="no training slide"):
        make_synthetic_task_cohort(tmp_path / "y", ("glands",), slides_per_task=4,
                                   test_fraction=0.5, val_fraction=0.5)
