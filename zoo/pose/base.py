"""What every pose estimator returns for one frame, and the interface they share."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from zoo.layouts import get_layout


@dataclass
class FramePoses:
    """The persons found in one frame.

    Attributes:
        keypoints: ``[P, V, 3]`` float32 — x, y in pixels and a score in [0, 1] per joint.
        boxes: ``[P, 4]`` float32 person boxes ``x1, y1, x2, y2`` in pixels.
        scores: ``[P]`` float32 person confidence.
        keypoints_3d: ``[P, V, 3]`` float32 metric 3-D joints when the model gives them
            (MediaPipe's world landmarks, metres, origin between the hips), else ``None``.
    """

    keypoints: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    keypoints_3d: np.ndarray | None = None

    @classmethod
    def empty(cls, num_joints: int, with_3d: bool = False) -> FramePoses:
        return cls(np.zeros((0, num_joints, 3), np.float32), np.zeros((0, 4), np.float32),
                   np.zeros(0, np.float32),
                   np.zeros((0, num_joints, 3), np.float32) if with_3d else None)

    def __len__(self) -> int:
        return len(self.keypoints)


def boxes_from_keypoints(keypoints: np.ndarray, min_score: float = 0.0,
                         margin: float = 0.1) -> np.ndarray:
    """Boxes ``[P, 4]`` around each person's joints scoring above ``min_score``, grown by
    ``margin`` of their size on every side."""
    boxes = np.zeros((len(keypoints), 4), np.float32)
    for i, person in enumerate(keypoints):
        pts = person[person[:, 2] > min_score, :2]
        if len(pts) == 0:
            pts = person[:, :2]
        lo, hi = pts.min(0), pts.max(0)
        pad = (hi - lo) * margin
        boxes[i] = [*(lo - pad), *(hi + pad)]
    return boxes


class PoseEstimator(ABC):
    """A callable ``frame -> FramePoses`` on RGB ``uint8 [H, W, 3]`` frames.

    Subclasses set ``layout`` (the joint layout of their keypoints, see :mod:`zoo.layouts`)
    and ``has_3d``; :meth:`reset` starts a new video (estimators that track between frames
    forget the previous one).
    """

    layout: str = "coco17"
    has_3d: bool = False

    @property
    def num_joints(self) -> int:
        return get_layout(self.layout).num_joints

    def reset(self) -> None:  # noqa: B027 (optional hook, no-op by default)
        """Forget the previous frames (called before each video)."""

    @abstractmethod
    def __call__(self, frame: np.ndarray) -> FramePoses:
        """Persons in one RGB frame ``[H, W, 3]`` uint8 (each estimator implements it)."""

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release native resources."""


def check_frame(frame: np.ndarray) -> np.ndarray:
    """``frame`` as a contiguous RGB ``uint8 [H, W, 3]`` array (a clear error otherwise)."""
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"a pose estimator needs an RGB uint8 frame [H, W, 3], got "
                         f"{frame.dtype} {frame.shape}")
    return np.ascontiguousarray(frame)
