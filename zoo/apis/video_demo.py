"""Sliding-window action recognition on a video: pose extraction, tracking, one prediction
per window, and the annotated frames (the engine of tools/demo/skeleton_demo.py)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from torch import nn

from zoo.layouts import get_layout
from zoo.pose.base import PoseEstimator
from zoo.pose.tracking import track_persons
from zoo.skeleton_vis import draw_skeleton, draw_text

from .inference import inference_skeleton


@dataclass
class WindowPrediction:
    """Top-k of the frames ``[start, end)`` and the wall time of that prediction."""

    start: int
    end: int
    top: list[tuple[str, float]]
    seconds: float

    def to_dict(self, fps: float) -> dict:
        return dict(start=self.start, end=self.end,
                    start_s=round(self.start / fps, 3) if fps else None,
                    end_s=round(self.end / fps, 3) if fps else None,
                    top=[dict(label=c, score=round(s, 6)) for c, s in self.top],
                    latency_ms=round(1000 * self.seconds, 2))


@dataclass
class DemoResult:
    """Poses ``[M, T, V, 3]``, window predictions, and the pose time per frame."""

    keypoint: np.ndarray
    windows: list[WindowPrediction] = field(default_factory=list)
    pose_seconds: float = 0.0


def window_starts(num_frames: int, window: int, stride: int) -> list[int]:
    """Starts of the windows ``[s, s + window)`` every ``stride`` frames; a video shorter
    than ``window`` is one window."""
    if window < 1 or stride < 1:
        raise ValueError(f"window and stride must be >= 1, got {window}, {stride}")
    if num_frames <= window:
        return [0]
    return list(range(0, num_frames - window + 1, stride))


def check_layouts(model: nn.Module, estimator: PoseEstimator) -> None:
    """The estimator's joints must be the model's (a clear error otherwise)."""
    want = model.inference_meta.get("layout")
    if want is not None and get_layout(want).num_joints != estimator.num_joints:
        raise ValueError(f"the model was trained on layout {get_layout(want).name!r} "
                         f"({get_layout(want).num_joints} joints); the pose estimator gives "
                         f"{estimator.layout!r} ({estimator.num_joints})")


def recognise_frames(frames: list[np.ndarray], model: nn.Module, estimator: PoseEstimator,
                     window: int = 48, stride: int = 16, max_persons: int = 2,
                     topk: int = 3) -> DemoResult:
    """Run pose estimation on every RGB frame, track, and predict each window."""
    check_layouts(model, estimator)
    estimator.reset()
    t0 = time.perf_counter()
    poses = [estimator(f) for f in frames]
    pose_seconds = (time.perf_counter() - t0) / max(len(frames), 1)
    keypoint, _ = track_persons(poses, max_persons=max_persons,
                                num_joints=estimator.num_joints)
    h, w = frames[0].shape[:2]
    result = DemoResult(keypoint, pose_seconds=pose_seconds)
    for start in window_starts(len(frames), window, stride):
        end = min(start + window, len(frames))
        t0 = time.perf_counter()
        top = inference_skeleton(model, keypoint[:, start:end], topk=topk, img_shape=(h, w))
        result.windows.append(WindowPrediction(start, end, top, time.perf_counter() - t0))
    return result


def annotate(frames: list[np.ndarray], result: DemoResult, layout: str,
             score_thr: float = 0.3) -> list[np.ndarray]:
    """The frames with the tracked skeletons and, from the first window's end on, the top-k
    of the latest window that has ended by that frame (the first window's before)."""
    out = []
    for t, frame in enumerate(frames):
        kp = result.keypoint[:, t]
        img = draw_skeleton(frame, kp[..., :2], layout, kp[..., 2], thr=score_thr)
        done = [w for w in result.windows if w.end <= t + 1] or result.windows[:1]
        win = done[-1]
        lines = [f"frames {win.start}-{win.end - 1}"] + [f"{c}: {s:.2f}" for c, s in win.top]
        out.append(draw_text(img, lines))
    return out


def recognise_stream(frames, model: nn.Module, estimator: PoseEstimator, window: int = 48,
                     stride: int = 16, max_persons: int = 2, topk: int = 3,
                     windows: list | None = None, score_thr: float = 0.3):
    """Online version of :func:`recognise_frames` for a camera or any frame iterator: yields
    each annotated frame as soon as it is read; a window is predicted when its last frame
    arrives (same windows as offline; persons are tracked inside each window). Predictions
    are appended to ``windows``. A stream shorter than ``window`` gets one prediction at
    its end."""
    from collections import deque

    check_layouts(model, estimator)
    estimator.reset()
    buffer: deque = deque(maxlen=window)
    latest = None
    count = 0
    windows = windows if windows is not None else []
    shape = None
    for t, frame in enumerate(frames):
        shape = frame.shape[:2]
        poses = estimator(frame)
        buffer.append(poses)
        count = t + 1
        start = count - window
        if start >= 0 and start % stride == 0:
            latest = _predict_buffer(model, list(buffer), start, count, max_persons, topk,
                                     estimator.num_joints, shape)
            windows.append(latest)
        img = draw_skeleton(frame, poses.keypoints[..., :2], estimator.layout,
                            poses.keypoints[..., 2], thr=score_thr)
        if latest is not None:
            lines = [f"frames {latest.start}-{latest.end - 1}"] + [
                f"{c}: {s:.2f}" for c, s in latest.top]
            img = draw_text(img, lines)
        yield img
    if count and not windows:
        windows.append(_predict_buffer(model, list(buffer), 0, count, max_persons, topk,
                                       estimator.num_joints, shape))


def _predict_buffer(model, poses, start, end, max_persons, topk, num_joints, shape):
    keypoint, _ = track_persons(poses, max_persons=max_persons, num_joints=num_joints)
    t0 = time.perf_counter()
    top = inference_skeleton(model, keypoint, topk=topk, img_shape=shape)
    return WindowPrediction(start, end, top, time.perf_counter() - t0)
