"""MediaPipe Pose (BlazePose, Bazarevsky et al., CVPR-W 2020, arXiv:2006.10204) as a zoo pose
estimator.

The ``mediapipe`` 0.10.14 wheel ships ``pose_detection.tflite`` and
``pose_landmark_full.tflite``, so this runs offline (``model_complexity=1``; the lite and heavy
landmark models are downloaded by MediaPipe at run time and are not used here).

MediaPipe Pose finds one person per image. For ``max_persons > 1`` each image is searched
again with the persons already found blanked out (static-image mode), which finds people that
stand apart; overlapping people are not separated.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from zoo.layouts import MEDIAPIPE33_TO_COCO17, get_layout
from zoo.registry import POSE_ESTIMATORS

from .base import FramePoses, PoseEstimator, boxes_from_keypoints, check_frame


def _import_mediapipe():
    # MediaPipe's C++ logging (one feedback-tensor warning per graph) and a protobuf
    # deprecation warning per frame say nothing to a user
    os.environ.setdefault("GLOG_minloglevel", "2")
    warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype",
                            category=UserWarning)
    try:
        import mediapipe as mp
    except ImportError as exc:  # pragma: no cover - the pose extra is part of the dev group
        raise ImportError("MediaPipe Pose needs the `mediapipe` package: install the zoo's "
                          "pose extra (`uv sync --extra pose`, or `pip install "
                          "'mediapipe==0.10.14'`)") from exc
    return mp


@POSE_ESTIMATORS.register_module(name="mediapipe")
class MediaPipePose(PoseEstimator):
    """MediaPipe Pose: 33 landmarks per person, 2-D in pixels plus metric 3-D.

    Args:
        layout: ``'coco17'`` (the 17 COCO joints picked out of the 33, same names) or
            ``'mediapipe33'`` (all landmarks).
        max_persons: persons searched per frame (see the module docstring).
        static_image_mode: ``False`` tracks the person from frame to frame (MediaPipe's
            video mode, faster); forced to ``True`` when ``max_persons > 1``.
        smooth_landmarks: MediaPipe's temporal filter in video mode.
        min_detection_confidence / min_tracking_confidence: MediaPipe's thresholds.
    """

    has_3d = True

    def __init__(self, layout: str = "coco17", max_persons: int = 1,
                 static_image_mode: bool = False, smooth_landmarks: bool = True,
                 min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5):
        if layout not in ("coco17", "mediapipe33"):
            raise ValueError(f"MediaPipePose gives layout 'coco17' or 'mediapipe33', not "
                             f"{layout!r}")
        if max_persons < 1:
            raise ValueError(f"max_persons must be >= 1, got {max_persons}")
        self.layout = get_layout(layout).name
        self.max_persons = max_persons
        self._options = dict(
            static_image_mode=static_image_mode or max_persons > 1, model_complexity=1,
            smooth_landmarks=smooth_landmarks, min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence)
        self._pick = (np.asarray(MEDIAPIPE33_TO_COCO17) if layout == "coco17"
                      else np.arange(33))
        self._pose = None

    def _solution(self):
        if self._pose is None:
            mp = _import_mediapipe()
            self._pose = mp.solutions.pose.Pose(**self._options)
        return self._pose

    def reset(self) -> None:
        if not self._options["static_image_mode"]:
            self.close()  # video mode keeps the last person's region: a new video starts afresh

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None

    def _one(self, image: np.ndarray):
        result = self._solution().process(image)
        if result.pose_landmarks is None:
            return None
        h, w = image.shape[:2]
        lm = result.pose_landmarks.landmark
        kp = np.array([[p.x * w, p.y * h, p.visibility] for p in lm], np.float32)
        world = np.array([[p.x, p.y, p.z] for p in result.pose_world_landmarks.landmark],
                         np.float32)
        return kp, world

    def __call__(self, frame: np.ndarray) -> FramePoses:
        image = check_frame(frame)
        found = []
        for _ in range(self.max_persons):
            person = self._one(image)
            if person is None:
                break
            found.append(person)
            if len(found) < self.max_persons:  # blank this person out, search again
                x1, y1, x2, y2 = boxes_from_keypoints(person[0][None], min_score=0.5)[0]
                h, w = image.shape[:2]
                image = image.copy()
                image[max(int(y1), 0):max(int(np.ceil(y2)), 0),
                      max(int(x1), 0):max(int(np.ceil(x2)), 0)] = 0
        if not found:
            return FramePoses.empty(len(self._pick), with_3d=True)
        kp = np.stack([k for k, _ in found])
        boxes = boxes_from_keypoints(kp, min_score=0.5)
        kp = kp[:, self._pick]
        world = np.stack([w for _, w in found])[:, self._pick]
        scores = kp[..., 2].mean(1).astype(np.float32)
        return FramePoses(kp, boxes, scores, world)
