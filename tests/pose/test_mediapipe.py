"""MediaPipe Pose on a real photo (scikit-image's astronaut): keypoints land on the person."""
import numpy as np
import pytest

from zoo.layouts import MEDIAPIPE33_TO_COCO17, get_layout
from zoo.pose import build_pose_estimator

COCO = get_layout("coco17").joints


@pytest.fixture(scope="module")
def astronaut_poses(mediapipe):
    import skimage.data

    photo = skimage.data.astronaut()
    est33 = build_pose_estimator(dict(type="mediapipe", layout="mediapipe33",
                                      static_image_mode=True))
    est17 = build_pose_estimator(dict(type="mediapipe", layout="coco17",
                                      static_image_mode=True))
    try:
        return est17(photo), est33(photo)
    finally:
        est17.close()
        est33.close()


def test_keypoints_land_on_the_astronaut(astronaut_poses):
    poses, _ = astronaut_poses
    assert len(poses) == 1
    kp = poses.keypoints[0]
    joint = {name: kp[i] for i, name in enumerate(COCO)}
    # her face spans about x 175-275, y 60-190 in the 512 x 512 photo
    nose = joint["nose"]
    assert 175 < nose[0] < 275 and 60 < nose[1] < 190 and nose[2] > 0.9
    for side in ("left", "right"):
        assert joint[f"{side}_eye"][1] < joint[f"{side}_shoulder"][1] - 60
    # she faces the camera: her left is the image's right
    for part in ("eye", "ear", "shoulder"):
        assert joint[f"left_{part}"][0] > joint[f"right_{part}"][0] + 10, part
    box = poses.boxes[0]
    assert box[0] <= kp[:, 0].min() and kp[kp[:, 2] > 0.5, 0].max() <= box[2]


def test_coco17_is_the_picked_subset_of_the_33_landmarks(astronaut_poses):
    p17, p33 = astronaut_poses
    np.testing.assert_allclose(p17.keypoints, p33.keypoints[:, list(MEDIAPIPE33_TO_COCO17)],
                               atol=1e-4)
    assert p33.keypoints.shape == (1, 33, 3)
    world = p33.keypoints_3d[0]
    assert np.isfinite(world).all() and np.abs(world).max() < 2.0  # metres, hip-centred
    # 3-D: shoulders about a body width apart (0.25-0.6 m)
    width = np.linalg.norm(world[11] - world[12])
    assert 0.2 < width < 0.6


def test_blank_frame_gives_no_person(mediapipe):
    est = build_pose_estimator("mediapipe")
    poses = est(np.full((240, 320, 3), 90, np.uint8))
    est.close()
    assert len(poses) == 0 and poses.keypoints.shape == (0, 17, 3)


def test_bad_frame_and_layout_are_clear_errors(mediapipe):
    with pytest.raises(ValueError, match="layout 'coco17' or 'mediapipe33'"):
        build_pose_estimator(dict(type="mediapipe", layout="ntu25"))
    with pytest.raises(KeyError, match="unknown pose estimator 'openpose'"):
        build_pose_estimator("openpose")
    est = build_pose_estimator("mediapipe")
    with pytest.raises(ValueError, match="RGB uint8 frame"):
        est(np.zeros((10, 10), np.float32))
