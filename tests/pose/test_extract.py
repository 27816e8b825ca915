"""tools/data/extract_pose.py on synthetic videos of a real person (MediaPipe, offline)."""
import csv
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from zoo.pose import build_pose_estimator
from zoo.pose.extract import collect_videos, extract_all, shard_jobs, write_labels_csv
from zoo.video_io import read_frames, write_video

from .conftest import TOP, moving_frames, paste

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "data"))
import extract_pose  # noqa: E402


def _confident_shift(kp: np.ndarray, t: int) -> np.ndarray:
    """Median displacement of frame t's confident joints from frame 0."""
    ok = (kp[0, :, 2] > 0.5) & (kp[t, :, 2] > 0.5)
    return np.median(kp[t, ok, :2] - kp[0, ok, :2], axis=0)


def test_track_follows_a_known_translation(tmp_path, person, mediapipe):
    frames, offsets = moving_frames(person, steps=6, step=(7, 3))
    write_video(tmp_path / "walk.mp4", frames, fps=10)
    est = build_pose_estimator(dict(type="mediapipe", max_persons=1))
    report = extract_all(collect_videos(tmp_path / "walk.mp4"), tmp_path / "out", est,
                         max_persons=1, progress=False)
    kp = np.load(tmp_path / "out" / "walk.npy")
    assert kp.shape == (1, 6, 17, 3) and report.empty_frames == {"walk": 0}
    for t in range(1, 6):
        np.testing.assert_allclose(_confident_shift(kp[0], t), offsets[t], atol=3.0)


def test_two_pasted_copies_are_two_identities(tmp_path, person, mediapipe):
    # left copy moves right by 4 px/frame, right copy moves left by 4 px/frame; never touching
    frames = [paste(person, [(4 + 4 * k, TOP), (252 - 4 * k, TOP)], canvas=(288, 448))
              for k in range(5)]
    write_video(tmp_path / "pair.mp4", frames, fps=10)
    est = build_pose_estimator(dict(type="mediapipe", max_persons=2))
    extract_all(collect_videos(tmp_path / "pair.mp4"), tmp_path / "out", est, max_persons=2,
                progress=False)
    kp = np.load(tmp_path / "out" / "pair.npy")
    assert kp.shape == (2, 5, 17, 3)
    assert (kp[..., 2].max(-1) > 0.5).all()  # both persons found in every frame
    nose_x = kp[:, :, 0, 0]
    left = int(np.argmin(nose_x[:, 0]))
    right = 1 - left
    assert (nose_x[left] < 224).all() and (nose_x[right] > 224).all()  # no identity swap
    for t in range(1, 5):
        # x: the motion, to 3 px; y: no motion, to 4 px (MediaPipe's threaded kernels moved a
        # landmark by 3.04 px between runs of the same video in one CI run)
        for copy, dx in ((left, 4 * t), (right, -4 * t)):
            shift = _confident_shift(kp[copy], t)
            assert abs(shift[0] - dx) <= 3.0 and abs(shift[1]) <= 4.0, (copy, t, shift)


def test_blank_frames_are_zeros_and_counted(tmp_path, person, mediapipe):
    frames, _ = moving_frames(person, steps=6, step=(2, 0))
    blank = np.full_like(frames[0], 90)
    frames[2] = frames[3] = blank
    write_video(tmp_path / "gap.mp4", frames, fps=10)
    est = build_pose_estimator(dict(type="mediapipe", max_persons=1))
    report = extract_all(collect_videos(tmp_path / "gap.mp4"), tmp_path / "out", est,
                         max_persons=1, progress=False)
    kp = np.load(tmp_path / "out" / "gap.npy")
    assert report.empty_frames == {"gap": 2}
    assert (kp[0, 2:4] == 0).all() and (kp[0, [0, 1, 4, 5], :, 2].max(-1) > 0.5).all()
    meta = json.loads((tmp_path / "out" / "meta" / "gap.json").read_text())
    assert meta["empty_frames"] == 2 and meta["total_frames"] == 6
    assert "2 without a person" in report.summary()


@pytest.fixture
def video_folder(tmp_path, person):
    """videos/jump/a.mp4, videos/wave/b.mp4 (4 frames each), a corrupt and an empty file."""
    root = tmp_path / "videos"
    for cls, name, step in (("jump", "a", (0, 3)), ("wave", "b", (3, 0))):
        frames, _ = moving_frames(person, steps=4, step=step)
        write_video(root / cls / f"{name}.mp4", frames, fps=10)
    (root / "wave" / "broken.mp4").write_bytes(os.urandom(3000))
    (root / "wave" / "empty.mp4").write_bytes(b"")
    return root


def test_corrupt_and_empty_videos_are_named_and_skipped(video_folder, tmp_path, capsys,
                                                        mediapipe):
    out = tmp_path / "clips"
    code = extract_pose.main([str(video_folder), str(out), "--max-persons", "1",
                              "--no-progress"])
    text = capsys.readouterr().out
    assert code == 1
    assert "2 video(s) extracted" in text and "2 failed" in text
    assert f"FAILED {video_folder / 'wave' / 'broken.mp4'}" in text
    assert f"FAILED {video_folder / 'wave' / 'empty.mp4'}" in text
    assert sorted(p.name for p in out.glob("*.npy")) == ["jump__a.npy", "wave__b.npy"]
    # the folder reads back with the zoo's COCO2D reader, labels from the sub-folders
    from zoo.datasets.skeleton.coco2d import COCO2DClips

    ds = COCO2DClips(str(out), split="all")
    assert ds.class_names == ("jump", "wave")
    labels = {ds.get_data_info(i)["frame_dir"]: ds.get_data_info(i)["label"]
              for i in range(len(ds))}
    assert labels == {"jump__a": 0, "wave__b": 1}
    assert ds.get_data_info(0)["img_shape"] == (288, 448)
    assert not list(out.rglob(".*.tmp"))


class _Interrupting:
    """Wraps an estimator; raises KeyboardInterrupt (a kill) at call number ``stop_at``."""

    def __init__(self, inner, stop_at=None):
        self.inner, self.stop_at, self.calls = inner, stop_at, 0
        self.layout, self.num_joints = inner.layout, inner.num_joints

    def reset(self):
        self.inner.reset()

    def __call__(self, frame):
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        return self.inner(frame)


def test_killed_run_resumes_and_redoes_nothing(video_folder, tmp_path, mediapipe):
    jobs = [j for j in collect_videos(video_folder) if j.clip in ("jump__a", "wave__b")]
    out = tmp_path / "clips"
    est = build_pose_estimator(dict(type="mediapipe", max_persons=1))
    first = _Interrupting(est, stop_at=6)  # killed in the middle of the second video
    with pytest.raises(KeyboardInterrupt):
        extract_all(jobs, out, first, max_persons=1, progress=False)
    assert (out / "meta" / "jump__a.json").is_file()
    assert not (out / "wave__b.npy").exists() and not (out / "meta" / "wave__b.json").exists()
    done_stat = (out / "jump__a.npy").stat()
    second = _Interrupting(est)
    report = extract_all(jobs, out, second, max_persons=1, progress=False)
    assert report.skipped == ["jump__a"] and report.written == ["wave__b"]
    assert second.calls == 4  # only the unfinished video's frames
    assert (out / "jump__a.npy").stat().st_mtime_ns == done_stat.st_mtime_ns
    third = _Interrupting(est)
    assert extract_all(jobs, out, third, max_persons=1, progress=False).written == []
    assert third.calls == 0
    rows = list(csv.DictReader(open(write_labels_csv(out))))
    assert [r["clip"] for r in rows] == ["jump__a", "wave__b"]


def test_labels_csv_input_shards_and_pyskl_output(tmp_path, person, mediapipe):
    root = tmp_path / "raw"
    for name in ("v1", "v2", "v3"):
        write_video(root / f"{name}.mp4", moving_frames(person, steps=3)[0], fps=10)
    (root / "labels.csv").write_text("video,label,split\nv1.mp4,sit,train\nv2.mp4,stand,train\n"
                                     "v3.mp4,sit,test\n")
    jobs = collect_videos(root / "labels.csv")
    assert [(j.clip, j.label, j.split) for j in jobs] == [
        ("v1", "sit", "train"), ("v2", "stand", "train"), ("v3", "sit", "test")]
    parts = [shard_jobs(jobs, (i, 2)) for i in range(2)]
    assert sorted(j.clip for p in parts for j in p) == ["v1", "v2", "v3"]
    assert not {j.clip for j in parts[0]} & {j.clip for j in parts[1]}
    out = tmp_path / "pk"
    for i in range(2):
        code = extract_pose.main([str(root / "labels.csv"), str(out), "--shard", f"{i}/2",
                                  "--format", "pyskl", "--max-persons", "1", "--no-progress"])
        assert code == 0
    from zoo.datasets.skeleton.pyskl import PoseDataset

    train = PoseDataset(str(out / "pyskl.pkl"), split="train")
    test = PoseDataset(str(out / "pyskl.pkl"), split="test")
    assert [s["frame_dir"] for s in train.data_list] == ["v1", "v2"]
    assert [s["label"] for s in train.data_list] == [0, 1] and test.data_list[0]["label"] == 0
    assert train.data_list[0]["keypoint"].shape == (1, 3, 17, 2)
    assert (out / "classes.txt").read_text().split() == ["sit", "stand"]


def test_input_errors_are_clear(tmp_path):
    (tmp_path / "bad.csv").write_text("file,label\na.mp4,x\n")
    with pytest.raises(ValueError, match=r"bad.csv: lacks column\(s\) \['video'\]"):
        collect_videos(tmp_path / "bad.csv")
    with pytest.raises(FileNotFoundError, match="no video files"):
        collect_videos(tmp_path)
    with pytest.raises(SystemExit):
        extract_pose.parse_args(["a", "b", "--shard", "2/2"])


def test_written_video_decodes_back(tmp_path, person):
    frames, _ = moving_frames(person, steps=3)
    assert write_video(tmp_path / "x.mp4", frames, fps=5) == 3
    back = list(read_frames(tmp_path / "x.mp4"))
    assert len(back) == 3 and back[1].shape == frames[1].shape
    assert np.abs(back[1].astype(int) - frames[1]).mean() < 6


def test_mediapipe33_layout_goes_to_a_pyskl_pickle(tmp_path, person, mediapipe):
    write_video(tmp_path / "v" / "a.mp4", moving_frames(person, steps=3)[0], fps=10)
    with pytest.raises(ValueError, match="use --format pyskl"):
        extract_pose.main([str(tmp_path / "v"), str(tmp_path / "bad"), "--layout",
                           "mediapipe33", "--no-progress"])
    assert extract_pose.main([str(tmp_path / "v"), str(tmp_path / "out"), "--layout",
                              "mediapipe33", "--format", "pyskl", "--max-persons", "1",
                              "--no-progress"]) == 0
    from zoo.datasets.skeleton.pyskl import PoseDataset

    ds = PoseDataset(str(tmp_path / "out" / "pyskl.pkl"), split="all")
    assert ds.metainfo["layout"] == "mediapipe33"
    assert ds.data_list[0]["keypoint"].shape == (1, 3, 33, 2)
    assert np.load(tmp_path / "out" / "3d" / "a.npy").shape == (1, 3, 33, 3)
