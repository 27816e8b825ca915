"""Linking the persons of successive frames into tracks, and keeping the main ones.

Each frame's person boxes are matched to the open tracks by the Hungarian algorithm on
``1 - IoU`` (Kuhn 1955; the IoU tracker of Bochinski et al., AVSS 2017, with an optimal
assignment instead of a greedy one), using the box each track had when last seen. A pair with
IoU below ``iou_thr`` is not matched; a track unseen for more than ``max_gap`` frames is
closed. The result is the zoo's ``[M, T, V, C]`` array with the top-M tracks ranked by box area
or by joint motion; a frame where a track is absent is zeros.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .base import FramePoses


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix ``[len(a), len(b)]`` of ``x1, y1, x2, y2`` boxes."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(-1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


@dataclass
class Track:
    """One person over time: ``frames[t] = index of the person in frame t``."""

    track_id: int
    last_box: np.ndarray
    last_frame: int
    frames: dict[int, int] = field(default_factory=dict)


class IoUTracker:
    """Online IoU + Hungarian tracker (see the module docstring).

    Args:
        iou_thr: smallest IoU that links a person to a track.
        max_gap: frames a track may miss before it is closed.
    """

    def __init__(self, iou_thr: float = 0.3, max_gap: int = 10):
        self.iou_thr = iou_thr
        self.max_gap = max_gap
        self.tracks: list[Track] = []

    def update(self, frame_index: int, boxes: np.ndarray) -> list[int]:
        """Assign the ``boxes`` of frame ``frame_index``; returns their track ids."""
        from scipy.optimize import linear_sum_assignment

        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        open_tracks = [t for t in self.tracks if frame_index - t.last_frame <= self.max_gap + 1]
        ids = [-1] * len(boxes)
        if open_tracks and len(boxes):
            iou = box_iou(np.stack([t.last_box for t in open_tracks]), boxes)
            rows, cols = linear_sum_assignment(1.0 - iou)
            for r, c in zip(rows, cols):
                if iou[r, c] >= self.iou_thr:
                    ids[c] = open_tracks[r].track_id
        for j, box in enumerate(boxes):
            if ids[j] < 0:
                track = Track(len(self.tracks), box, frame_index)
                self.tracks.append(track)
                ids[j] = track.track_id
            track = self.tracks[ids[j]]
            track.last_box, track.last_frame = box, frame_index
            track.frames[frame_index] = j
        return ids


def track_persons(frames: list[FramePoses], max_persons: int = 2, rank: str = "area",
                  iou_thr: float = 0.3, max_gap: int = 10, num_joints: int | None = None
                  ) -> tuple[np.ndarray, np.ndarray | None]:
    """Tracks of ``frames`` as ``[M, T, V, 3]`` (x, y, score) and, when every frame has them,
    ``[M, T, V, 3]`` 3-D joints; ``M = max_persons`` (missing persons are zeros).

    ``rank``: ``'area'`` keeps the tracks with the largest summed box area (the people nearest
    the camera, present longest); ``'motion'`` those whose joints move most (summed frame-to-
    frame displacement of confident joints, normalised by box size).
    """
    if rank not in ("area", "motion"):
        raise ValueError(f"rank must be 'area' or 'motion', got {rank!r}")
    if num_joints is None:
        num_joints = next((f.keypoints.shape[1] for f in frames), 0)
    tracker = IoUTracker(iou_thr, max_gap)
    for t, poses in enumerate(frames):
        tracker.update(t, poses.boxes)
    with_3d = bool(frames) and all(f.keypoints_3d is not None for f in frames)
    scores = []
    for track in tracker.tracks:
        ts = sorted(track.frames)
        boxes = np.stack([frames[t].boxes[track.frames[t]] for t in ts])
        size = np.clip(boxes[:, 2:] - boxes[:, :2], 1e-6, None)
        if rank == "area":
            scores.append(float(size.prod(-1).sum()))
            continue
        motion = 0.0
        for a, b, s in zip(ts[:-1], ts[1:], size[1:]):
            ka = frames[a].keypoints[track.frames[a]]
            kb = frames[b].keypoints[track.frames[b]]
            ok = (ka[:, 2] > 0.3) & (kb[:, 2] > 0.3)
            if ok.any():
                motion += float(np.linalg.norm((kb[ok, :2] - ka[ok, :2]) / s, axis=-1).mean())
        scores.append(motion)
    order = np.argsort(-np.asarray(scores), kind="stable")[:max_persons]
    out = np.zeros((max_persons, len(frames), num_joints, 3), np.float32)
    out3d = np.zeros_like(out) if with_3d else None
    for m, k in enumerate(order):
        for t, j in tracker.tracks[k].frames.items():
            out[m, t] = frames[t].keypoints[j]
            if out3d is not None:
                out3d[m, t] = frames[t].keypoints_3d[j]
    return out, out3d
