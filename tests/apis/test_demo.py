"""tools/demo/skeleton_demo.py on a video of a real person (the astronaut photo, moving)."""
import json

import numpy as np
import pytest

from zoo.apis.video_demo import window_starts
from zoo.video_io import read_frames, write_video

from .conftest import CLASSES, load_tool


def test_window_starts():
    assert window_starts(20, 8, 4) == [0, 4, 8, 12]
    assert window_starts(5, 8, 4) == [0]
    with pytest.raises(ValueError):
        window_starts(5, 0, 1)


@pytest.fixture
def person_video(tmp_path):
    """18 frames (320 x 240) of the astronaut photo moving right by 4 px per frame."""
    pytest.importorskip("mediapipe")
    import skimage.data
    from skimage.transform import resize

    person = (resize(skimage.data.astronaut(), (160, 160), anti_aliasing=True) * 255
              ).astype(np.uint8)
    frames = []
    for k in range(18):
        frame = np.full((240, 320, 3), 90, np.uint8)
        x = 40 + 4 * k
        frame[40:200, x:x + 160] = person
        frames.append(frame)
    write_video(tmp_path / "in.mp4", frames, fps=10)
    return tmp_path / "in.mp4", frames


def test_demo_writes_decodable_mp4_and_one_json_entry_per_window(trained, person_video,
                                                                   tmp_path):
    video, frames = person_video
    skeleton_demo = load_tool("demo/skeleton_demo.py")

    report = skeleton_demo.main([str(video), "--checkpoint",
                                 str(trained["checkpoint"]), "--out", str(tmp_path / "out.mp4"),
                                 "--window", "8", "--stride", "4", "--max-persons", "1"])
    back = list(read_frames(tmp_path / "out.mp4"))
    assert len(back) == 18 and back[0].shape == (240, 320, 3)
    # the annotation changed the frames: text band top-left, skeleton on the person
    assert np.abs(back[5].astype(int) - frames[5]).mean() > 1.0
    saved = json.loads((tmp_path / "out.json").read_text())
    assert saved == report
    assert [(w["start"], w["end"]) for w in saved["windows"]] == [(0, 8), (4, 12), (8, 16)]
    for w in saved["windows"]:
        assert [t["label"] for t in w["top"]] and {t["label"] for t in w["top"]} == set(CLASSES)
        assert abs(sum(t["score"] for t in w["top"]) - 1) < 1e-4 and w["latency_ms"] > 0


def test_stream_mode_predicts_the_same_windows(trained, person_video, tmp_path):
    video, frames = person_video
    skeleton_demo = load_tool("demo/skeleton_demo.py")
    common = ["--checkpoint", str(trained["checkpoint"]), "--window", "8", "--stride", "4",
              "--max-persons", "1"]
    offline = skeleton_demo.main([str(video), "--out", str(tmp_path / "a.mp4"), *common])
    stream = skeleton_demo.main(["--stream", str(video), "--out", str(tmp_path / "b.mp4"),
                                 *common])
    assert stream["frames"] == 18 == len(list(read_frames(tmp_path / "b.mp4")))
    assert [(w["start"], w["end"]) for w in stream["windows"]] == \
        [(w["start"], w["end"]) for w in offline["windows"]]
    for a, b in zip(offline["windows"], stream["windows"]):  # one person: same keypoints
        assert [t["label"] for t in a["top"]] == [t["label"] for t in b["top"]]
        np.testing.assert_allclose([t["score"] for t in a["top"]],
                                   [t["score"] for t in b["top"]], atol=2e-3)
    short = skeleton_demo.main(["--stream", str(video), "--out", str(tmp_path / "c.mp4"),
                                "--max-frames", "5", *common])
    assert short["frames"] == 5 and [(w["start"], w["end"]) for w in short["windows"]] == \
        [(0, 5)]
