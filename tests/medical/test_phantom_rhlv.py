"""Spine phantom, MONAI reader and RHLV (HealthiVert-GAN height-loss measure)."""
from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest
from zoo.datasets.medical.spine_io import SpineDataError, load_spine_volume, sagittal, vertebra_crop
from zoo.datasets.medical.spine_phantom import (
    PhantomConfig,
    genant_grade,
    make_case,
    save_nifti_atomic,
)

from zoo.medical.rhlv import SECTIONS, SectionHeights, rhlv_from_files


@pytest.fixture(scope="module")
def fractured_case(tmp_path_factory):
    out = tmp_path_factory.mktemp("phantom") / "case"
    meta = make_case(out, seed=11, grade=3)
    return out, meta


def _target(meta):
    return meta["vertebrae"][meta["target_index"]]


def test_phantom_appearance_and_labels(fractured_case):
    out, meta = fractured_case
    vol = load_spine_volume(out / "label.nii.gz", out / "ct.nii.gz")
    assert vol.image.shape == vol.label.shape == tuple(meta["shape"])
    assert np.allclose(vol.spacing, meta["spacing"])
    labels = sorted(int(v) for v in np.unique(vol.label) if v)
    assert labels == [v["label"] for v in meta["vertebrae"]]
    raw = nib.load(out / "ct.nii.gz").get_fdata()
    label = nib.load(out / "label.nii.gz").get_fdata()
    body = label == meta["target_label"]
    inner = body.copy()
    for axis in range(3):  # erode by 2 voxels along each axis -> cancellous core
        for shift in (-2, 2):
            inner &= np.roll(body, shift, axis=axis)
    shell = body & ~inner
    assert raw[shell].mean() > raw[inner].mean() + 150  # cortical shell brighter than core
    assert raw[inner].mean() > raw[label == 0].mean() + 100  # bone brighter than tissue/air
    # windowing maps HU to [-1, 1]
    assert vol.image.min() >= -1 and vol.image.max() <= 1


def test_planted_grade_matches_sections(fractured_case):
    _, meta = fractured_case
    t = _target(meta)
    assert t["grade"] == 3 == genant_grade(max(t["section_loss"].values()))
    assert [v["grade"] for v in meta["vertebrae"]].count(0) == len(meta["vertebrae"]) - 1


def test_rhlv_recovers_planted_loss(fractured_case):
    out, meta = fractured_case
    t = _target(meta)
    res = rhlv_from_files(out / "healthy_label.nii.gz", out / "label.nii.gz", t["label"])
    for s in SECTIONS:
        assert res.rhlv[s] == pytest.approx(t["section_loss"][s], abs=0.03)
    # healthy height in mm within one voxel (1.5 mm)
    assert res.height_syn["middle"] == pytest.approx(t["healthy_height_mm"], abs=1.5)
    # an unfractured neighbour has ~zero loss
    nb = meta["vertebrae"][meta["target_index"] - 1]["label"]
    res_nb = rhlv_from_files(out / "healthy_label.nii.gz", out / "label.nii.gz", nb)
    assert max(abs(v) for v in res_nb.rhlv.values()) < 1e-6


def test_heights_use_voxel_spacing(tmp_path):
    cfg = PhantomConfig(spacing=(1.5, 1.5, 1.0), shape=(40, 64, 220))
    meta = make_case(tmp_path / "c", seed=5, grade=2, cfg=cfg)
    t = _target(meta)
    res = rhlv_from_files(tmp_path / "c" / "healthy_label.nii.gz",
                          tmp_path / "c" / "label.nii.gz", t["label"])
    assert res.height_syn["whole"] == pytest.approx(t["healthy_height_mm"], abs=1.0)
    for s in SECTIONS:
        assert res.rhlv[s] == pytest.approx(t["section_loss"][s], abs=0.03)


def _reorient(path_in, path_out, perm, flips):
    img = nib.load(path_in)
    data = np.asarray(img.dataobj)
    new = np.transpose(data, perm)
    transform = np.zeros((4, 4))
    transform[3, 3] = 1
    for j, old_axis in enumerate(perm):
        if flips[j]:
            new = np.flip(new, axis=j)
            transform[old_axis, j] = -1
            transform[old_axis, 3] = new.shape[j] - 1
        else:
            transform[old_axis, j] = 1
    save_nifti_atomic(np.ascontiguousarray(new), img.affine @ transform, path_out)


def test_orientation_does_not_change_rhlv(fractured_case, tmp_path):
    out, meta = fractured_case
    t = _target(meta)
    ref = rhlv_from_files(out / "healthy_label.nii.gz", out / "label.nii.gz", t["label"])
    perm, flips = (2, 0, 1), (True, False, True)
    for name in ("healthy_label", "label"):
        _reorient(out / f"{name}.nii.gz", tmp_path / f"{name}.nii.gz", perm, flips)
    raw = nib.load(tmp_path / "label.nii.gz")
    assert raw.shape != nib.load(out / "label.nii.gz").shape  # really stored differently
    assert nib.aff2axcodes(raw.affine) != ("R", "A", "S")
    res = rhlv_from_files(tmp_path / "healthy_label.nii.gz", tmp_path / "label.nii.gz",
                          t["label"])
    for part in ref.rhlv:
        assert res.rhlv[part] == pytest.approx(ref.rhlv[part], abs=1e-9)
    # the re-oriented reader gives back the very same RAS array
    a = load_spine_volume(tmp_path / "label.nii.gz").label
    b = load_spine_volume(out / "label.nii.gz").label
    np.testing.assert_array_equal(a, b)


def test_missing_vertebra_is_a_clear_error(fractured_case):
    out, _ = fractured_case
    with pytest.raises(SpineDataError, match=r"label\.nii\.gz.*no voxel of vertebra 99"):
        rhlv_from_files(out / "healthy_label.nii.gz", out / "label.nii.gz", 99)
    with pytest.raises(SpineDataError, match="does not exist"):
        load_spine_volume(out / "nope.nii.gz")


def test_crop_contains_target_and_neighbours(fractured_case):
    out, meta = fractured_case
    vol = load_spine_volume(out / "label.nii.gz", out / "ct.nii.gz")
    x = int(np.flatnonzero((vol.label == meta["target_label"]).any(axis=(1, 2))).mean())
    img, lab, centre = vertebra_crop(vol.image, vol.label, meta["target_label"], x)
    assert img.shape == lab.shape == (64, 64)
    present = set(np.unique(lab)) - {0}
    t = meta["target_label"]
    assert {t - 1, t, t + 1} <= present
    # rows run superior -> inferior: the upper neighbour (smaller label) is above the target
    rows = {v: np.nonzero(lab == v)[0].mean() for v in (t - 1, t, t + 1)}
    assert rows[t - 1] < rows[t] < rows[t + 1]
    assert sagittal(vol.label, x).shape == (vol.label.shape[2], vol.label.shape[1])


def test_section_heights_hand_case():
    syn = np.zeros((10, 10), bool)
    syn[1:9, 0:10] = True  # 8 rows tall everywhere; thirds: columns 0-2, 3-5, 6-9
    ori = syn.copy()
    ori[1:5, 6:10] = False  # anterior third loses 4 of 8 rows
    acc = SectionHeights(min_rel_height=0.3)
    assert acc.add_slice(syn, ori, row_spacing=2.0)
    res = acc.result()
    assert res.height_syn["anterior"] == pytest.approx(16.0)
    assert res.height_ori["anterior"] == pytest.approx(8.0)
    assert res.rhlv["anterior"] == pytest.approx(0.5, abs=1e-6)
    assert res.rhlv["posterior"] == pytest.approx(0.0, abs=1e-6)
    assert json.dumps(res.rhlv)  # plain floats


def test_pearson_r_hand_case_and_constant_input():
    from zoo.medical.metrics import pearson_r

    # x = 1..4, y = 2x + 1 plus a flip of the last two: r = 0.8 by hand
    # (deviations -1.5 -0.5 0.5 1.5 against -3 -1 3 1: 8 / sqrt(5 * 20))
    assert abs(pearson_r([1, 2, 3, 4], [3, 5, 9, 7]) - 0.8) < 1e-12
    assert abs(pearson_r([[1, 2], [3, 4]], [[2, 4], [6, 8]]) - 1.0) < 1e-12  # flattened
    assert pearson_r([1, 1, 1], [1, 2, 3]) != pearson_r([1, 1, 1], [1, 2, 3])  # NaN
