"""Pose estimation on a user's own videos: estimators (registry ``POSE_ESTIMATORS``), person
tracking and the extraction into the zoo's clip formats (video I/O: :mod:`zoo.video_io`).

``build_pose_estimator(dict(type='mediapipe'))`` gives the offline default (MediaPipe Pose);
``dict(type='keypoint_rcnn')`` torchvision's Keypoint R-CNN with weights from the zoo's hub.
"""
from __future__ import annotations

from zoo.registry import POSE_ESTIMATORS

from .base import FramePoses, PoseEstimator, boxes_from_keypoints
from .keypoint_rcnn import KeypointRCNNPose
from .mediapipe_pose import MediaPipePose
from .tracking import IoUTracker, box_iou, track_persons

__all__ = ["POSE_ESTIMATORS", "FramePoses", "PoseEstimator", "MediaPipePose",
           "KeypointRCNNPose", "IoUTracker", "box_iou", "track_persons", "boxes_from_keypoints",
           "build_pose_estimator"]


def build_pose_estimator(cfg: dict | str) -> PoseEstimator:
    """Build a registered estimator from ``dict(type=NAME, ...)`` or a bare name."""
    if isinstance(cfg, str):
        cfg = dict(type=cfg)
    if POSE_ESTIMATORS.get(cfg.get("type")) is None:
        raise KeyError(f"unknown pose estimator {cfg.get('type')!r}; registered: "
                       f"{sorted(POSE_ESTIMATORS.module_dict)}")
    return POSE_ESTIMATORS.build(dict(cfg))
