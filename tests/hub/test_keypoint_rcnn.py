"""Keypoint R-CNN pose estimator end to end: weights in torchvision's key layout served from
127.0.0.1 through the hub (hash checked), then extraction into clip files."""
import io

import numpy as np
import pytest
import torch

from zoo.hub.download import HashMismatchError
from zoo.hub.index import MODEL_INDEX
from zoo.pose import build_pose_estimator
from zoo.pose.extract import collect_videos, extract_all
from zoo.pose.keypoint_rcnn import build_keypoint_rcnn
from zoo.video_io import read_frames, write_video

from .helpers import sha256

SIZE = 96
FAST = dict(min_size=SIZE, max_size=SIZE, num_proposals=50)


@pytest.fixture(scope="module")
def weights() -> bytes:
    """A random Keypoint R-CNN R50-FPN state dict (torchvision's keys and shapes) whose box
    classifier calls every proposal a person, so that the random model detects people."""
    torch.manual_seed(0)
    model = build_keypoint_rcnn()
    with torch.no_grad():
        model.roi_heads.box_predictor.cls_score.bias.copy_(torch.tensor([-8.0, 8.0]))
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)  # torchvision's files are plain state dicts
    return buf.getvalue()


def _frames():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)
    return [np.roll(base, 3 * k, axis=1) for k in range(2)]


def test_index_entry_is_torchvisions_file():
    entry = MODEL_INDEX["keypointrcnn_resnet50_fpn_coco"]
    assert entry.urls[0] == ("https://download.pytorch.org/models/"
                             "keypointrcnn_resnet50_fpn_coco-fc266e95.pth")
    assert entry.sha256 == "fc266e95"


def test_keypoint_rcnn_from_local_hub_to_clip_files(weights, server, cache, add_entry, tmp_path):
    url = server.add("/models/kprcnn-test.pth", weights)
    add_entry(name="kprcnn_test", urls=(url,), sha256=sha256(weights))
    est = build_pose_estimator(dict(type="keypoint_rcnn", checkpoint="zoo://kprcnn_test",
                                    max_detections=2, **FAST))
    assert (cache / "checkpoints" / "kprcnn_test.pth").is_file()
    # the estimator holds exactly the served weights
    served = torch.load(io.BytesIO(weights), weights_only=True)
    for key, value in est.model.state_dict().items():
        assert torch.equal(value, served[key]), key
    write_video(tmp_path / "v.mp4", _frames(), fps=5)
    decoded = list(read_frames(tmp_path / "v.mp4"))
    # reference: torchvision's model with the same weights, called directly
    ref = build_keypoint_rcnn(**FAST)
    ref.roi_heads.detections_per_img = 2
    ref.load_state_dict(served)
    ref.eval()
    per_frame = []
    with torch.no_grad():
        for frame in decoded:
            out = ref([torch.from_numpy(frame).permute(2, 0, 1).float() / 255])[0]
            keep = out["scores"] >= 0.5
            kp = torch.cat([out["keypoints"][keep][..., :2],
                            out["keypoints_scores"][keep].sigmoid()[..., None]], -1)
            per_frame.append(kp.numpy())
    assert all(len(k) for k in per_frame)
    report = extract_all(collect_videos(tmp_path / "v.mp4"), tmp_path / "out", est,
                         max_persons=2, progress=False)
    clip = np.load(tmp_path / "out" / "v.npy")
    assert clip.shape == (2, 2, 17, 3) and report.empty_frames == {"v": 0}
    for t in range(2):
        for person in clip[:, t]:
            if person.any():  # every kept person is one of the model's detections
                err = np.abs(per_frame[t] - person[None]).max(axis=(1, 2))
                assert err.min() < 1e-2
        assert clip[:, t].any()


def test_tampered_weights_are_refused(weights, server, cache, add_entry):
    url = server.add("/models/bad.pth", weights[:-10] + b"0123456789")
    add_entry(name="kprcnn_bad", urls=(url,), sha256=sha256(weights))
    with pytest.raises(HashMismatchError):
        build_pose_estimator(dict(type="keypoint_rcnn", checkpoint="zoo://kprcnn_bad"))
    assert not (cache / "checkpoints" / "kprcnn_bad.pth").exists()
