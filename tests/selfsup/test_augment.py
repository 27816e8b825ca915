"""Skeleton augmentations of self-supervised pre-training: each on a hand case."""
from __future__ import annotations

import numpy as np
import pytest
from zoo.datasets.transforms.skeleton_aug import (
    MultiViewSkeleton,
    RandomAxisMask,
    RandomFrameDrop,
    RandomGaussianBlur,
    RandomGaussianNoise,
    RandomJointDrop,
    RandomMainAxisRotate,
    RandomShear,
    RandomSpatialFlip,
    RandomTemporalCropResize,
    RandomTemporalReflectCrop,
    apply_crop_resize,
    apply_reflect_crop,
    apply_shear,
    apply_temporal_blur,
    gaussian_kernel,
    left_right_permutation,
)

from zoo.registry import TRANSFORMS


def sample(m=1, t=10, v=25, c=3, seed=0):
    kp = np.random.default_rng(seed).normal(size=(m, t, v, c)).astype(np.float32)
    return {"keypoint": kp, "total_frames": t}


def test_shear_applies_the_matrix_and_its_entries_stay_in_range():
    kp = np.array([[[[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]]], dtype=np.float32)
    r = np.array([[1.0, 0.1, 0.2], [0.3, 1.0, 0.4], [0.5, 0.6, 1.0]])
    out = apply_shear(kp, r)
    np.testing.assert_allclose(out[0, 0, 0], [1.0, 0.3, 0.5])  # first column of R
    np.testing.assert_allclose(out[0, 0, 1], [0.2, 2.0, 1.2])  # 2 x second column
    np.random.seed(0)
    x = np.tile(np.eye(3, dtype=np.float32), (1, 1, 1, 1))  # joints = unit vectors
    res = RandomShear(amplitude=0.5)({"keypoint": x.copy()})["keypoint"][0, 0]
    matrix = res.T  # column j of R is the image of e_j
    np.testing.assert_allclose(np.diag(matrix), 1.0, rtol=1e-6)
    off = matrix[~np.eye(3, dtype=bool)]
    assert np.all(np.abs(off) <= 0.5) and np.abs(off).max() > 0.01


def test_spatial_flip_swaps_left_and_right_joints_of_the_layout():
    # the official HiCLR order for NTU-25 (feeder/tools.py transform_order['ntu'])
    official = [0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 16, 17, 18, 19, 12, 13, 14, 15, 20, 23, 24,
                21, 22]
    assert left_right_permutation("ntu25").tolist() == official
    perm = left_right_permutation("kinect20")
    assert perm[4] == 8 and perm[8] == 4 and perm[0] == 0 and perm[16] == 12
    s = sample()
    out = RandomSpatialFlip("ntu25", p=1.0)({"keypoint": s["keypoint"].copy()})["keypoint"]
    np.testing.assert_array_equal(out[:, :, 4], s["keypoint"][:, :, 8])
    np.testing.assert_array_equal(out[:, :, 3], s["keypoint"][:, :, 3])
    mirrored = RandomSpatialFlip("ntu25", p=1.0, mirror_axis=0)(
        {"keypoint": s["keypoint"].copy()})["keypoint"]
    np.testing.assert_array_equal(mirrored[:, :, 4, 0], -s["keypoint"][:, :, 8, 0])
    never = RandomSpatialFlip("ntu25", p=0.0)({"keypoint": s["keypoint"].copy()})["keypoint"]
    np.testing.assert_array_equal(never, s["keypoint"])


def test_main_axis_rotation_keeps_lengths_and_stays_within_the_angles():
    np.random.seed(1)
    s = sample()
    out = RandomMainAxisRotate(main_deg=30, other_deg=1)({"keypoint": s["keypoint"].copy()})
    np.testing.assert_allclose(np.linalg.norm(out["keypoint"], axis=-1),
                               np.linalg.norm(s["keypoint"], axis=-1), rtol=1e-5)
    # a unit vector turns by at most 30 + 1 + 1 degrees
    e = np.array([[[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]]], dtype=np.float32)
    for seed in range(20):
        np.random.seed(seed)
        r = RandomMainAxisRotate()({"keypoint": e.copy()})["keypoint"][0, 0]
        angles = np.degrees(np.arccos(np.clip((r * e[0, 0]).sum(-1), -1, 1)))
        assert angles.max() <= 32.0 + 1e-4


def test_axis_mask_zeroes_exactly_one_axis():
    np.random.seed(0)
    s = sample()
    out = RandomAxisMask(p=1.0)({"keypoint": s["keypoint"].copy()})["keypoint"]
    zero_axes = [a for a in range(3) if not out[..., a].any()]
    assert len(zero_axes) == 1
    kept = [a for a in range(3) if a not in zero_axes]
    np.testing.assert_array_equal(out[..., kept], s["keypoint"][..., kept])


def test_gaussian_noise_has_the_requested_std_and_spares_padding():
    np.random.seed(0)
    kp = np.zeros((1, 200, 25, 3), dtype=np.float32)
    kp[:, :100] = 1.0  # frames 100.. are padding
    out = RandomGaussianNoise(std=0.05, p=1.0)({"keypoint": kp.copy()})["keypoint"]
    assert np.std(out[:, :100] - 1.0) == pytest.approx(0.05, rel=0.05)
    assert not out[:, 100:].any()


def test_gaussian_blur_is_a_normalised_temporal_convolution():
    w = gaussian_kernel(3, 1.0)
    e = np.exp(-0.5)
    np.testing.assert_allclose(w, np.array([e, 1, e]) / (1 + 2 * e))
    np.testing.assert_allclose(gaussian_kernel(3, 1.0, normalize=False), [e, 1, e])
    kp = np.zeros((1, 5, 1, 1), dtype=np.float32)
    kp[0, 2] = 1.0  # an impulse in the middle frame
    out = apply_temporal_blur(kp, w)[0, :, 0, 0]
    np.testing.assert_allclose(out, [0, w[0], w[1], w[2], 0], rtol=1e-6)
    const = np.ones((1, 9, 2, 3), dtype=np.float32)
    np.random.seed(0)
    blurred = RandomGaussianBlur(kernel=5, p=1.0)({"keypoint": const})["keypoint"]
    np.testing.assert_allclose(blurred[:, 2:-2], 1.0, rtol=1e-6)  # away from the edges
    with pytest.raises(ValueError, match="odd"):
        RandomGaussianBlur(kernel=4)


def test_joint_and_frame_drop_zero_the_requested_counts():
    np.random.seed(0)
    s = sample(t=20, v=20)
    out = RandomJointDrop(ratio=0.2)({"keypoint": s["keypoint"].copy()})["keypoint"]
    dropped = [v for v in range(20) if not out[:, :, v].any()]
    assert len(dropped) == 4
    keep = [v for v in range(20) if v not in dropped]
    np.testing.assert_array_equal(out[:, :, keep], s["keypoint"][:, :, keep])
    out = RandomFrameDrop(ratio=0.25)({"keypoint": s["keypoint"].copy()})["keypoint"]
    assert sum(not out[:, t].any() for t in range(20)) == 5
    with pytest.raises(ValueError, match="ratio"):
        RandomJointDrop(ratio=1.5)


def test_temporal_reflect_crop_and_crop_resize_on_a_ramp():
    ramp = np.arange(12, dtype=np.float32).reshape(1, 12, 1, 1)
    # pad 2: [1, 0, 0..11, 11, 10]; start 0 -> 1, 0, 0, 1, ..., 9
    out = apply_reflect_crop(ramp, 2, 0)[0, :, 0, 0]
    np.testing.assert_array_equal(out, [1, 0] + list(range(10)))
    np.testing.assert_array_equal(apply_reflect_crop(ramp, 2, 2), ramp)
    np.random.seed(0)
    res = RandomTemporalReflectCrop(padding_ratio=6)({"keypoint": ramp.copy()})["keypoint"]
    assert res.shape == ramp.shape
    # crop frames 2..8 (7 frames) and resize to 13: a ramp from 2 to 8 in steps of 0.5
    out = apply_crop_resize(ramp, 2.0, 7.0, 13)[0, :, 0, 0]
    np.testing.assert_allclose(out, np.linspace(2, 8, 13), rtol=1e-6)
    np.random.seed(0)
    res = RandomTemporalCropResize(ratio=(0.5, 0.5), clip_len=8)({"keypoint": ramp.copy()})
    seq = res["keypoint"][0, :, 0, 0]
    assert len(seq) == 8 and np.allclose(np.diff(seq), np.diff(seq)[0])  # still linear
    assert seq[-1] - seq[0] == pytest.approx(5.0, abs=1e-5)  # a window of 6 frames
    with pytest.raises(ValueError, match="ratio"):
        RandomTemporalCropResize(ratio=(0.0, 1.0))


def test_multi_view_stacks_independent_views_from_the_registry():
    view = [dict(type="UniformSampleFrames", clip_len=8), dict(type="PoseDecode"),
            dict(type="RandomGaussianNoise", std=0.1, p=1.0),
            dict(type="FormatGCNInput", num_person=1)]
    t = TRANSFORMS.build(dict(type="MultiViewSkeleton", views=[view, view, view]))
    assert isinstance(t, MultiViewSkeleton)
    s = sample(t=20)
    original = s["keypoint"].copy()
    out = t(s)
    assert out["keypoint"].shape == (3, 1, 1, 8, 25, 3)
    assert not np.allclose(out["keypoint"][0], out["keypoint"][1])
    np.testing.assert_array_equal(s["keypoint"], original)  # the input sample is untouched
    short = [dict(type="UniformSampleFrames", clip_len=4), dict(type="PoseDecode"),
             dict(type="FormatGCNInput", num_person=1)]
    with pytest.raises(ValueError, match="different shapes"):
        MultiViewSkeleton([view, short])(sample(t=20))
