"""tools/visualize_skeleton.py and tools/browse_dataset.py: animations and strips, 2-D / 3-D."""
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo.layouts import get_layout
from zoo.skeleton_vis import draw_skeleton, render_2d

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
import browse_dataset  # noqa: E402
import visualize_skeleton  # noqa: E402


def test_bones_are_drawn_between_the_joints():
    frame = np.zeros((100, 100, 3), np.uint8)
    kp = np.zeros((1, 17, 2), np.float32)
    kp[0, 5] = (20, 50)   # left shoulder
    kp[0, 7] = (80, 50)   # left elbow: bone (7, 5) is a horizontal line at y = 50
    out = draw_skeleton(frame, kp, "coco17")
    assert out[50, 30:70].any(axis=-1).all()  # the bone
    assert not out[20].any() and not out[80].any()  # nothing elsewhere
    assert (out[50, 20] == 255).all()  # joint dot


def test_render_2d_fits_the_canvas_and_skips_missing_joints():
    rng = np.random.default_rng(0)
    kp = rng.uniform(500, 900, (2, 4, 17, 2)).astype(np.float32)
    kp[1, 2] = 0  # person 2 absent in frame 2
    frames = render_2d(kp, "coco17", size=64)
    assert len(frames) == 4 and frames[0].shape == (64, 64, 3)
    assert all((f != 255).any() for f in frames)


def test_visualize_npy_clip_2d(tmp_path):
    clip = np.zeros((1, 6, 17, 3), np.float32)
    base = np.stack([np.linspace(100, 300, 17), np.linspace(50, 400, 17)], -1)
    for t in range(6):
        clip[0, t, :, :2] = base + 10 * t
        clip[0, t, :, 2] = 0.9
    np.save(tmp_path / "clip.npy", clip)
    gif, strip = visualize_skeleton.main([str(tmp_path / "clip.npy"), "--out",
                                          str(tmp_path / "v.gif"), "--size", "96",
                                          "--strip", "3"])
    with Image.open(gif) as im:
        assert im.n_frames == 6 and im.size == (96, 96)
    assert Image.open(strip).size == (3 * 96, 96)


def test_visualize_3d_from_a_config_sample(tmp_path):
    out = visualize_skeleton.main(["--config", str(REPO / "configs/skeleton/stgcn_synthetic.py"),
                                   "--index", "2", "--out", str(tmp_path / "s.mp4"),
                                   "--size", "128", "--split", "test", "--max-frames", "12"])
    from zoo.video_io import read_frames

    frames = list(read_frames(out[0]))
    assert len(frames) == 12 and frames[0].shape == (128, 128, 3)
    assert Image.open(out[1]).size == (8 * 128, 128)


def test_layout_mismatch_is_a_clear_error(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((1, 3, 25, 3), np.float32))
    with pytest.raises(ValueError, match="layout 'coco17' has 17 joints, the sample 25"):
        visualize_skeleton.main([str(tmp_path / "x.npy"), "--layout", "coco17", "--out",
                                 str(tmp_path / "x.gif")])


def test_browse_dataset_draws_pipeline_output(tmp_path):
    written = browse_dataset.main([str(REPO / "configs/skeleton/stgcn_synthetic.py"),
                                   "--num", "2", "--out", str(tmp_path / "b"), "--cfg-options",
                                   "train_dataloader.dataset.num_per_class=1"])
    gifs = sorted(p for p in written if p.suffix == ".gif")
    assert len(gifs) == 2 and len(written) == 4
    with Image.open(gifs[0]) as im:
        assert im.n_frames == 32  # clip_len of the config's UniformSampleFrames
    assert get_layout("ntu25").num_joints == 25
