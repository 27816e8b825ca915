import numpy as np
import pytest
import torch
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from zoo.datasets.skeleton import SyntheticSkeletonActions, validate_sample
from zoo.datasets.skeleton.base import SkeletonFormatError
from zoo.datasets.transforms.skeleton import (
    GenSkeFeat,
    PreNormalize3D,
    UniformSampleFrames,
    joint_to_bone,
)

init_default_scope("zoo")


def test_synthetic_is_deterministic_and_varied():
    a = SyntheticSkeletonActions(split="train", num_per_class=3)
    b = SyntheticSkeletonActions(split="train", num_per_class=3)
    test = SyntheticSkeletonActions(split="test", num_per_class=3)
    assert len(a) == 30
    np.testing.assert_array_equal(a.get_data_info(5)["keypoint"], b.get_data_info(5)["keypoint"])
    assert not np.allclose(a.get_data_info(0)["keypoint"][0, :10],
                           test.get_data_info(0)["keypoint"][0, :10])
    lengths = {a.get_data_info(i)["total_frames"] for i in range(30)}
    assert len(lengths) > 5  # lengths vary
    labels = [a.get_data_info(i)["label"] for i in range(30)]
    assert sorted(set(labels)) == list(range(10))


def test_synthetic_bones_keep_their_length():
    sample = SyntheticSkeletonActions(split="train", num_per_class=1).get_data_info(3)
    bones = joint_to_bone(sample["keypoint"], "ntu25")[0]  # [T, V, 3]
    length = np.linalg.norm(bones, axis=-1)
    long_bones = length.mean(0) > 0.15  # short bones are dominated by the 1 cm sensor noise
    spread = length.std(0)[long_bones] / length.mean(0)[long_bones]
    assert np.max(spread) < 0.1  # limbs are rigid up to sensor noise


def test_prenormalize_centres_and_aligns():
    sample = SyntheticSkeletonActions(split="train", num_per_class=1).get_data_info(0)
    out = PreNormalize3D("ntu25")(dict(sample))
    first = out["keypoint"][0, 0]
    np.testing.assert_allclose(first[1], 0, atol=1e-5)  # spine middle at the origin
    shoulders = first[8] - first[4]  # right - left shoulder lies on +x
    assert shoulders[0] > 0 and abs(shoulders[1]) < 1e-4 and abs(shoulders[2]) < 1e-4
    spine = first[1] - first[0]  # the spine points up +z (exactly before the shoulder turn)
    assert spine[2] / np.linalg.norm(spine) > np.cos(np.radians(15))


def test_uniform_sampling_train_and_test():
    sampler = UniformSampleFrames(clip_len=8, num_clips=3, test_mode=True)
    a = sampler(dict(total_frames=40))["frame_inds"]
    b = sampler(dict(total_frames=40))["frame_inds"]
    np.testing.assert_array_equal(a, b)  # test clips are reproducible
    assert a.shape == (24,) and a.max() < 40
    for clip in a.reshape(3, 8):
        assert np.all(np.diff(clip) > 0)
    short = UniformSampleFrames(clip_len=8)(dict(total_frames=5))["frame_inds"]
    assert short.shape == (8,) and short.max() < 5


def test_bone_and_motion_streams():
    kp = np.random.default_rng(0).normal(size=(1, 6, 20, 3)).astype(np.float32)
    out = GenSkeFeat("kinect20", feats=["b", "jm"])(dict(keypoint=kp))["keypoint"]
    assert out.shape == (1, 6, 20, 6)
    np.testing.assert_allclose(out[0, 0, 5, :3], kp[0, 0, 5] - kp[0, 0, 4])  # elbow - shoulder
    np.testing.assert_allclose(out[0, 2, :, 3:], kp[0, 3] - kp[0, 2])
    np.testing.assert_allclose(out[0, -1, :, 3:], 0)
    with pytest.raises(KeyError, match="unknown skeleton stream"):
        GenSkeFeat("kinect20", feats=["x"])


def test_full_pipeline_packs_clips():
    pipeline = Compose([
        dict(type="PreNormalize3D", layout="ntu25"),
        dict(type="UniformSampleFrames", clip_len=16, num_clips=2, test_mode=True),
        dict(type="PoseDecode"),
        dict(type="FormatGCNInput", num_person=2),
        dict(type="PackSkeletonInputs"),
    ])
    sample = SyntheticSkeletonActions(split="test", num_per_class=1).get_data_info(1)
    packed = pipeline(sample)
    assert packed["inputs"].shape == (2, 2, 16, 25, 3)
    assert torch.all(packed["inputs"][:, 1] == 0)  # the padded second person
    assert int(packed["data_samples"].gt_label) == 1


def test_validate_sample_rejects_nans_and_wrong_joints():
    kp = np.zeros((1, 4, 25, 3), np.float32)
    kp[0, 2, 3, 1] = np.nan
    with pytest.raises(SkeletonFormatError, match="clip_7: keypoint holds NaN"):
        validate_sample(dict(frame_dir="clip_7", keypoint=kp))
    with pytest.raises(SkeletonFormatError, match="clip_8: has 25 joints per body, expected 20"):
        validate_sample(dict(frame_dir="clip_8", keypoint=np.zeros((1, 4, 25, 3))), 20)
