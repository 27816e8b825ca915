"""Curved spine phantoms and spine straightening (HealthiVert-GAN pre-processing)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from zoo.datasets.medical.healthivert_dataset import HealthiVertPhantomDataset
from zoo.datasets.medical.spine_io import SpineDataError, load_spine_volume
from zoo.datasets.medical.spine_phantom import (
    PhantomConfig,
    generate_phantom_set,
    make_case,
    ras_affine,
    save_nifti_atomic,
)
from zoo.datasets.medical.spine_straighten import (
    straighten_arrays,
    straighten_case,
    vertebra_centroids,
)

from zoo.medical.rhlv import SECTIONS, rhlv_from_files

# a strong lordosis-like curve: the bodies tilt by up to ~16 degrees
STRONG = PhantomConfig(curved=True, sagittal_amplitude=(9.0, 9.0),
                       sagittal_wavelength=(200.0, 200.0))


@pytest.fixture(scope="module")
def curved_case(tmp_path_factory):
    out = tmp_path_factory.mktemp("curved") / "case"
    meta = make_case(out, seed=21, grade=3, cfg=STRONG)
    return out, meta, straighten_case(out)


def _centroid_xy(label: np.ndarray) -> np.ndarray:
    return np.array([c[:2] for c in vertebra_centroids(label, np.ones(3)).values()])


def test_curved_phantom_records_its_curve_and_is_deterministic(tmp_path, curved_case):
    out, meta, _ = curved_case
    assert meta["curved"] is True
    curve = np.array(meta["centre_line"]["points_voxel"])
    assert curve.shape == (meta["shape"][2], 3)
    np.testing.assert_allclose(curve[:, 2], np.arange(meta["shape"][2]), atol=1e-3)
    label = load_spine_volume(out / "healthy_label.nii.gz").label
    cents = vertebra_centroids(label, np.ones(3))
    for v in meta["vertebrae"]:
        # the recorded body centre lies on the recorded curve, the rendered body around it
        c = np.array(v["centre_voxel"])
        on_curve = [np.interp(c[2], curve[:, 2], curve[:, k]) for k in (0, 1)]
        np.testing.assert_allclose(c[:2], on_curve, atol=0.05)
        np.testing.assert_allclose(cents[v["label"]], c, atol=0.6)
        assert 0.3 <= v["concavity_superior_mm"] <= 1.5
    # really curved: the centroids leave a vertical line by several voxels
    assert np.ptp(_centroid_xy(label)[:, 1]) > 4
    # shapes vary per vertebra beyond the caudal trend
    depth = np.array([v["depth_mm"] for v in meta["vertebrae"]])
    assert np.ptp(np.diff(depth)) > 1.0
    # deterministic per seed, different between seeds
    a = make_case(tmp_path / "a", seed=5, curved=True)
    b = make_case(tmp_path / "b", seed=5, curved=True)
    c = make_case(tmp_path / "c", seed=6, curved=True)
    assert a == b and a["centre_line"] != c["centre_line"]
    np.testing.assert_array_equal(load_spine_volume(tmp_path / "a" / "label.nii.gz").label,
                                  load_spine_volume(tmp_path / "b" / "label.nii.gz").label)


def test_straightening_puts_centroids_on_a_vertical_line(curved_case):
    out, meta, straight = curved_case
    raw = load_spine_volume(out / "label.nii.gz")
    st = load_spine_volume(straight / "label.nii.gz")
    np.testing.assert_allclose(st.spacing, raw.spacing)
    dev_raw = np.abs(_centroid_xy(raw.label) - _centroid_xy(raw.label).mean(0)).max()
    dev_st = np.abs(_centroid_xy(st.label) - _centroid_xy(st.label).mean(0)).max()
    assert dev_raw > 2.0 and dev_st < 1.0, (dev_raw, dev_st)
    # the fitted centre line follows the planted one inside the spine
    info = json.loads((straight / "straighten.json").read_text())
    fit = np.array(info["centre_line_voxel"])
    true = np.array(meta["centre_line"]["points_voxel"])
    ks = [v["centre_voxel"][2] for v in meta["vertebrae"]]
    z = true[(true[:, 2] >= min(ks)) & (true[:, 2] <= max(ks))]
    for k in (0, 1):
        assert np.abs(np.interp(z[:, 2], fit[:, 2], fit[:, k]) - z[:, k]).max() < 0.5
    # the CT is resampled too: bone stays bright inside the straightened vertebrae
    ct = load_spine_volume(straight / "label.nii.gz", straight / "ct.nii.gz", window=None).image
    assert ct[st.label > 0].mean() > ct[st.label == 0].mean() + 150


def test_heights_on_the_straightened_mask_match_the_planted_heights(curved_case):
    out, meta, straight = curved_case
    sp = np.array(meta["spacing"])
    raw = load_spine_volume(out / "healthy_label.nii.gz").label
    st = load_spine_volume(straight / "healthy_label.nii.gz").label
    span_err = {"raw": [], "straight": []}
    for v in meta["vertebrae"]:
        h = v["healthy_height_mm"]
        conc = v["concavity_superior_mm"] + v["concavity_inferior_mm"]
        for name, lab in (("raw", raw), ("straight", st)):
            rows = np.flatnonzero((lab == v["label"]).any(axis=(0, 1)))
            span_err[name].append((rows.max() - rows.min() + 1) * sp[2] - h)
        # mean column height (along the straightened axis) near the body's centre vs the
        # planted concave-endplate profile H - (c_sup + c_inf)(1 - rho^2)
        m = st == v["label"]
        ci, cj, _ = np.array(np.nonzero(m)).mean(1)
        ii, jj = np.meshgrid(np.arange(m.shape[0]), np.arange(m.shape[1]), indexing="ij")
        rho2 = (((ii - ci) * sp[0] / (v["width_mm"] / 2)) ** 2
                + ((jj - cj) * sp[1] / (v["depth_mm"] / 2)) ** 2)
        sel = rho2 <= 0.5
        measured = m.sum(axis=2)[sel].mean() * sp[2]
        assert measured == pytest.approx((h - conc * (1 - rho2[sel])).mean(), abs=sp[2])
    raw_err, st_err = np.array(span_err["raw"]), np.array(span_err["straight"])
    tilt = np.abs([v["sagittal_tilt_deg"] for v in meta["vertebrae"]])
    assert tilt.max() > 12
    # rows spanned (the band height HealthiVert-GAN cuts out): within the two samplings'
    # quantisation (2 voxels) after straightening; along the image axis, tilted bodies span
    # their height plus depth x sin(tilt)
    assert np.abs(st_err).max() <= 2 * sp[2], st_err
    assert (raw_err[tilt > 8] > 3 * sp[2]).all(), (raw_err, tilt)
    # RHLV on the straightened masks recovers the planted section losses
    t = meta["vertebrae"][meta["target_index"]]
    res = rhlv_from_files(straight / "healthy_label.nii.gz", straight / "label.nii.gz",
                          t["label"])
    for s in SECTIONS:
        assert res.rhlv[s] == pytest.approx(t["section_loss"][s], abs=0.03)


def test_vertical_spine_is_left_unchanged():
    label = np.zeros((12, 14, 30), np.int16)
    label[3:9, 4:10, 2:8] = 1
    label[3:9, 4:10, 11:17] = 2
    label[3:9, 4:10, 20:27] = 3
    ct = np.random.default_rng(0).normal(size=label.shape).astype(np.float32)
    res = straighten_arrays(label, (1.5, 1.5, 2.0), image=ct)
    np.testing.assert_array_equal(res.label, label)
    np.testing.assert_allclose(res.image, ct, atol=1e-4)


def test_label_map_without_vertebrae_is_named(tmp_path):
    case = tmp_path / "empty"
    affine = ras_affine((1.5, 1.5, 1.5))
    save_nifti_atomic(np.zeros((10, 10, 20), np.int16), affine, case / "label.nii.gz")
    with pytest.raises(SpineDataError, match=r"empty/label\.nii\.gz: label map has no vertebra"):
        straighten_case(case)
    one = np.zeros((10, 10, 20), np.int16)
    one[3:7, 3:7, 5:12] = 20
    save_nifti_atomic(one, affine, case / "label.nii.gz")
    with pytest.raises(SpineDataError, match=r"label\.nii\.gz: only vertebra \[20\].*at least 2"):
        straighten_case(case)
    with pytest.raises(SpineDataError, match=r"missing/label\.nii\.gz.*does not exist"):
        straighten_case(tmp_path / "missing")


def test_dataset_straightens_curved_phantoms(tmp_path):
    root = tmp_path / "ph"
    common = dict(num_cases=1, fractured=False, targets="all", crop_size=64, band=24, seed=8,
                  curved=True)
    plain = HealthiVertPhantomDataset(str(root), straighten=False, **common)
    straight = HealthiVertPhantomDataset(str(root), straighten=True, **common)
    assert (root / "case_0000" / "straightened" / "straighten.json").is_file()
    meta = json.loads((root / "case_0000" / "meta.json").read_text())
    tilt = {v["label"]: abs(v["sagittal_tilt_deg"]) for v in meta["vertebrae"]}

    def band_error(ds):  # rows spanned by the target on its slices vs the planted height
        err = {}
        for i in range(len(ds)):
            s = ds.get_data_info(i)
            err.setdefault(s["label"], []).append(s["height"] * s["row_spacing"]
                                                  - s["healthy_height_mm"])
        return {k: np.abs(v).max() for k, v in err.items()}

    e_plain, e_straight = band_error(plain), band_error(straight)
    assert max(e_straight.values()) <= 2 * 1.5
    assert max(e_plain[k] for k in e_plain if tilt[k] > 8) > max(e_straight.values())
    # one root holds one kind of phantom
    with pytest.raises(ValueError, match=r"case_0000: existing phantom is curved"):
        generate_phantom_set(root, 1, seed=8, fractured=False)


def test_a_folder_without_phantoms_is_an_error_naming_it(tmp_path):
    from zoo.datasets.medical.spine_phantom import phantom_cases

    (tmp_path / "case_0000").mkdir()  # incomplete: no meta.json
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        phantom_cases(tmp_path)
