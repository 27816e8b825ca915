"""IoU + Hungarian tracking and top-M selection (no model needed)."""
import numpy as np
import pytest

from zoo.pose.base import FramePoses
from zoo.pose.tracking import IoUTracker, box_iou, track_persons


def test_box_iou_values():
    iou = box_iou([[0, 0, 10, 10]], [[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]])
    np.testing.assert_allclose(iou, [[50 / 150, 0.0, 1.0]])


def test_assignment_is_optimal_not_greedy():
    """Greedy matching of the best IoU first (A-X, 0.5) would leave B unmatched; the
    Hungarian assignment links A-Y (0.5) and B-X (0.38)."""
    tracker = IoUTracker(iou_thr=0.3)
    assert tracker.update(0, [[10, 0, 21, 10], [19, 0, 23, 10]]) == [0, 1]
    assert tracker.update(1, [[15, 0, 22, 10], [9, 0, 16, 10]]) == [1, 0]


def test_gap_and_new_track():
    tracker = IoUTracker(iou_thr=0.3, max_gap=2)
    tracker.update(0, [[0, 0, 10, 10]])
    tracker.update(1, np.zeros((0, 4)))
    tracker.update(2, np.zeros((0, 4)))
    assert tracker.update(3, [[1, 0, 11, 10]]) == [0]  # back within max_gap
    for t in range(4, 8):
        tracker.update(t, np.zeros((0, 4)))
    assert tracker.update(8, [[1, 0, 11, 10]]) == [1]  # too long away: a new person


def _frame(boxes, joints=3):
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    kp = np.zeros((len(boxes), joints, 3), np.float32)
    kp[..., :2] = ((boxes[:, :2] + boxes[:, 2:]) / 2)[:, None]
    kp[..., 2] = 1
    kp[:, 0, 0] += np.arange(len(boxes))  # joint 0 distinguishes the persons
    return FramePoses(kp, boxes, np.ones(len(boxes), np.float32))


def test_top_m_by_area_and_by_motion():
    big = lambda t: [0, 0, 100, 200]  # noqa: E731 - still, large
    small = lambda t: [300 + 20 * t, 0, 340 + 20 * t, 60]  # noqa: E731 - moving, small
    frames = [_frame([small(t), big(t)]) for t in range(5)]
    by_area, _ = track_persons(frames, max_persons=1, rank="area")
    by_motion, _ = track_persons(frames, max_persons=1, rank="motion")
    assert by_area.shape == (1, 5, 3, 3)
    assert by_area[0, 0, 1, 0] == 50  # the big person's centre
    assert by_motion[0, 4, 1, 0] == 320 + 80  # the moving one's centre in the last frame
    padded, _ = track_persons(frames, max_persons=3)
    assert (padded[2] == 0).all()
    with pytest.raises(ValueError, match="rank"):
        track_persons(frames, rank="size")
