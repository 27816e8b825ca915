import logging

import numpy as np
import pytest
from zoo.datasets.skeleton import MSRAction3D, SkeletonFormatError, read_msr_skeleton
from zoo.models.skeleton.graph import get_layout


def test_cross_subject_split_skips_the_all_zero_file(msr_dir, caplog):
    with caplog.at_level(logging.WARNING):
        train = MSRAction3D(str(msr_dir), split="train")
    test = MSRAction3D(str(msr_dir), split="test")
    assert train.skipped == ["a13_s09_e02_skeleton3D.txt"]
    assert len(train) + len(test) == 566
    assert {s["subject"] % 2 for s in train.data_list} == {1}
    assert {s["subject"] % 2 for s in test.data_list} == {0}
    assert sorted({s["label"] for s in test.data_list}) == list(range(20))
    sample = train.get_data_info(0)
    assert sample["keypoint"].shape[1:] == (sample["total_frames"], 20, 3)


def test_all_zero_file_raises_with_its_name_when_not_skipping(msr_dir, tmp_path):
    (tmp_path / "a13_s09_e02_skeleton3D.txt").write_text(
        (msr_dir / "a13_s09_e02_skeleton3D.txt").read_text())
    with pytest.raises(SkeletonFormatError, match="a13_s09_e02_skeleton3D.txt: is all zeros"):
        MSRAction3D(str(tmp_path), split="train", skip_empty=False)


def test_joint_count_not_multiple_of_20_names_the_file(tmp_path):
    path = tmp_path / "a01_s01_e01_skeleton3D.txt"
    path.write_text("0.1 0.2 2.0 1\n" * 30)
    with pytest.raises(SkeletonFormatError, match=r"a01_s01_e01_skeleton3D.txt: has 30 joint "
                                                  r"lines, not a multiple of 20"):
        read_msr_skeleton(path)


def test_xyz_only_file_is_refused_with_file_and_line(tmp_path):
    """80 lines of `x y z` hold 240 numbers, a multiple of 4 and of 4 * 20 joints: without a
    per-line check they would be read as 60 scrambled joints."""
    path = tmp_path / "a03_s01_e01_skeleton3D.txt"
    path.write_text("\n".join(f"0.{i % 9 + 1} 0.2 2.0" for i in range(80)) + "\n")
    with pytest.raises(SkeletonFormatError, match=r"a03_s01_e01_skeleton3D.txt: line 1 has 3 "
                                                  r"numbers, not 4 \(x y z confidence\)"):
        read_msr_skeleton(path)
    lines = ["0.1 0.2 2.0 1"] * 40
    lines[17] = "0.1 0.2 2.0 1 5"
    path.write_text("\n".join(lines))
    with pytest.raises(SkeletonFormatError, match=r"line 18 has 5 numbers"):
        read_msr_skeleton(path)


def test_nan_in_a_sequence_names_the_file_and_line(tmp_path):
    lines = ["0.1 0.2 2.0 1"] * 40
    lines[23] = "0.1 nan 2.0 1"
    path = tmp_path / "a02_s02_e01_skeleton3D.txt"
    path.write_text("\n".join(lines))
    with pytest.raises(SkeletonFormatError, match=r"a02_s02_e01_skeleton3D.txt: .*NaN.*line 24"):
        read_msr_skeleton(path)


def test_kinect20_bones_are_rigid_in_the_real_data(msr_dir):
    """The joint order in the data README, reordered to kinect20: bones keep their length
    through a sequence much better than random joint pairs do."""
    rng = np.random.default_rng(0)
    files = sorted(msr_dir.glob("a0[1-5]_s0[1-3]_e01_skeleton3D.txt"))
    bones = get_layout("kinect20").bones
    bone_cv, random_cv = [], []
    for f in files:
        joints, _ = read_msr_skeleton(f)
        def cv(i, j, joints=joints):
            length = np.linalg.norm(joints[:, i] - joints[:, j], axis=-1)
            return length.std() / length.mean()
        bone_cv += [cv(i, j) for i, j in bones]
        pairs = rng.choice(20, size=(len(bones), 2))
        random_cv += [cv(i, j) for i, j in pairs if i != j]
    assert np.median(bone_cv) < 0.5 * np.median(random_cv)
