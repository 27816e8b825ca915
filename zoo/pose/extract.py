"""From videos to the zoo's skeleton clip formats (the engine of tools/data/extract_pose.py).

Input: one video, a folder of videos (searched recursively; a video inside a sub-folder gets
that sub-folder's name as label) or a ``labels.csv`` with columns ``video,label[,split]``
(paths relative to the csv). Output folder, per video (``clip`` = the video's path below the
input, ``/`` replaced by ``__``, without suffix)::

    OUT/<clip>.npy          float32 [M, T, V, 3]: x, y (pixels), score; absent person = 0
    OUT/3d/<clip>.npy       float32 [M, T, V, 3] metric 3-D joints (estimators that give them)
    OUT/meta/<clip>.json    label, split, size, fps, frame counts — written last: a video
                            whose json exists is done, so a killed run resumes after it
    OUT/labels.csv          clip,label,split,width,height — rebuilt from meta/ after each run
                            (the COCO2DClips reader's table)
    OUT/pyskl.pkl           with format='pyskl': every clip in a PYSKL pickle (+ classes.txt)

Every file is written to a temporary name and renamed.
"""
from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zoo.fileio import atomic_write_bytes
from zoo.layouts import get_layout
from zoo.video_io import VIDEO_SUFFIXES, VideoReadError, read_frames, video_info

from .base import PoseEstimator
from .tracking import track_persons

UNLABELLED = "unlabelled"


@dataclass(frozen=True)
class VideoJob:
    """One video to extract: its file, clip name, label and split."""

    path: Path
    clip: str
    label: str = UNLABELLED
    split: str = ""


@dataclass
class ExtractionReport:
    """What a run did: clips written, clips already done, failures (file, reason), and the
    frames without any person per written clip."""

    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    empty_frames: dict[str, int] = field(default_factory=dict)
    frames: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"{len(self.written)} video(s) extracted, {len(self.skipped)} already done, "
                 f"{len(self.failed)} failed"]
        for clip in self.written:
            lines.append(f"  {clip}: {self.frames[clip]} frames, "
                         f"{self.empty_frames[clip]} without a person")
        for path, reason in self.failed:
            lines.append(f"  FAILED {path}: {reason}")
        return "\n".join(lines)


def _clip_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root) if root in path.parents else Path(path.name)
    return "__".join(rel.with_suffix("").parts)


def collect_videos(source: str | os.PathLike) -> list[VideoJob]:
    """The videos named by ``source`` (a video, a folder or a ``.csv``), sorted by clip."""
    source = Path(source)
    if source.suffix.lower() == ".csv":
        return _jobs_from_csv(source)
    if source.is_dir():
        paths = sorted(p for p in source.rglob("*")
                       if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
        if not paths:
            raise FileNotFoundError(f"{source}: no video files ({', '.join(VIDEO_SUFFIXES)})")
        return [VideoJob(p, _clip_name(p, source),
                         p.parent.name if p.parent != source else UNLABELLED) for p in paths]
    if source.is_file():
        return [VideoJob(source, source.stem)]
    raise FileNotFoundError(f"{source}: no such video, folder or labels.csv")


def _jobs_from_csv(path: Path) -> list[VideoJob]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [k for k in ("video", "label") if k not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: lacks column(s) {missing}; the header must be "
                             f"video,label[,split] (got {reader.fieldnames})")
        rows = list(reader)
    if not rows:
        raise ValueError(f"{path}: lists no videos")
    jobs, seen = [], {}
    for line, row in enumerate(rows, start=2):
        video = (path.parent / row["video"].strip())
        clip = _clip_name(video, path.parent)
        if clip in seen:
            raise ValueError(f"{path}: line {line} names clip {clip!r} again (line "
                             f"{seen[clip]})")
        seen[clip] = line
        label = row["label"].strip()
        if not label:
            raise ValueError(f"{path}: line {line} has an empty label")
        jobs.append(VideoJob(video, clip, label, (row.get("split") or "").strip()))
    return sorted(jobs, key=lambda j: j.clip)


def shard_jobs(jobs: list[VideoJob], shard: tuple[int, int] | None) -> list[VideoJob]:
    """The ``i``-th of ``n`` interleaved parts of ``jobs`` (``shard = (i, n)``, 0-based)."""
    if shard is None:
        return jobs
    i, n = shard
    if not (n >= 1 and 0 <= i < n):
        raise ValueError(f"shard {i}/{n}: need 0 <= i < n")
    return jobs[i::n]


def extract_video(path: str | os.PathLike, estimator: PoseEstimator, max_persons: int = 2,
                  rank: str = "area", frame_stride: int = 1, progress: bool = False) -> dict:
    """Run ``estimator`` on every frame of ``path`` and track the persons.

    Returns ``keypoint`` ``[M, T, V, 3]``, ``keypoint_3d`` (or ``None``), ``img_shape``
    ``(h, w)``, ``fps``, ``total_frames`` and ``empty_frames`` (frames without a person).
    Raises :class:`VideoReadError` naming the file when it is unreadable or has no frame.
    """
    info = video_info(path)
    estimator.reset()
    poses, shape = [], None
    frames = read_frames(path, stride=frame_stride)
    if progress:
        from tqdm import tqdm

        total = (info["frames"] + frame_stride - 1) // frame_stride if info["frames"] else None
        frames = tqdm(frames, total=total, desc=Path(path).name, unit="frame", leave=False)
    for frame in frames:
        shape = frame.shape[:2]
        poses.append(estimator(frame))
    if not poses:
        raise VideoReadError(f"{path}: the video has no frames")
    keypoint, keypoint_3d = track_persons(poses, max_persons=max_persons, rank=rank,
                                          num_joints=estimator.num_joints)
    return dict(keypoint=keypoint, keypoint_3d=keypoint_3d, img_shape=tuple(shape),
                fps=info["fps"] / frame_stride, total_frames=len(poses),
                empty_frames=sum(len(p) == 0 for p in poses))


def _save_npy(path: Path, array: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array, np.float32), allow_pickle=False)
    atomic_write_bytes(path, buf.getvalue())


def meta_path(out_dir: Path, clip: str) -> Path:
    return out_dir / "meta" / f"{clip}.json"


def is_done(out_dir: Path, clip: str) -> bool:
    return meta_path(out_dir, clip).is_file() and (out_dir / f"{clip}.npy").is_file()


def extract_all(jobs: list[VideoJob], out_dir: str | os.PathLike, estimator: PoseEstimator,
                max_persons: int = 2, rank: str = "area", frame_stride: int = 1,
                progress: bool = True, estimator_name: str = "") -> ExtractionReport:
    """Extract every job not done yet into ``out_dir``; a failing video is reported and
    skipped. ``labels.csv`` is rebuilt at the end from every finished clip."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = ExtractionReport()
    todo = [j for j in jobs if not is_done(out_dir, j.clip)]
    report.skipped = [j.clip for j in jobs if is_done(out_dir, j.clip)]
    bar = todo
    if progress:
        from tqdm import tqdm

        bar = tqdm(todo, desc="videos", unit="video")
    for job in bar:
        try:
            result = extract_video(job.path, estimator, max_persons, rank, frame_stride,
                                   progress=progress)
        except VideoReadError as exc:
            report.failed.append((str(job.path), str(exc).split(": ", 1)[-1]))
            continue
        _save_npy(out_dir / f"{job.clip}.npy", result["keypoint"])
        if result["keypoint_3d"] is not None:
            _save_npy(out_dir / "3d" / f"{job.clip}.npy", result["keypoint_3d"])
        h, w = result["img_shape"]
        meta = dict(clip=job.clip, video=str(job.path), label=job.label, split=job.split,
                    width=w, height=h, fps=result["fps"], total_frames=result["total_frames"],
                    empty_frames=result["empty_frames"], estimator=estimator_name,
                    layout=estimator.layout, max_persons=max_persons)
        atomic_write_bytes(meta_path(out_dir, job.clip), json.dumps(meta, indent=1).encode())
        report.written.append(job.clip)
        report.empty_frames[job.clip] = result["empty_frames"]
        report.frames[job.clip] = result["total_frames"]
    return report


def finished_clips(out_dir: str | os.PathLike) -> list[dict]:
    """The meta dicts of every finished clip in ``out_dir``, sorted by clip."""
    out_dir = Path(out_dir)
    metas = []
    for path in sorted((out_dir / "meta").glob("*.json")):
        meta = json.loads(path.read_text())
        if (out_dir / f"{meta['clip']}.npy").is_file():
            metas.append(meta)
    return metas


def write_labels_csv(out_dir: str | os.PathLike) -> Path:
    """(Re)write ``labels.csv`` (COCO2DClips' table) from the finished clips."""
    out_dir = Path(out_dir)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["clip", "label", "split", "width", "height"])
    for meta in finished_clips(out_dir):
        writer.writerow([meta["clip"], meta["label"], meta["split"], meta["width"],
                         meta["height"]])
    path = out_dir / "labels.csv"
    atomic_write_bytes(path, buf.getvalue().encode())
    return path


def write_pyskl_pickle(out_dir: str | os.PathLike, classes: list[str] | None = None) -> Path:
    """Write ``pyskl.pkl`` (PYSKL's 2-D format) and ``classes.txt`` from the finished clips.

    Labels become indices into ``classes`` (default: the sorted label names); the split dict
    has one list per ``split`` value plus ``'all'``.
    """
    from zoo.datasets.skeleton.pyskl import dump_pyskl

    out_dir = Path(out_dir)
    metas = finished_clips(out_dir)
    if not metas:
        raise ValueError(f"{out_dir}: no finished clip to put into a PYSKL pickle")
    classes = list(classes) if classes else sorted({m["label"] for m in metas})
    annotations, split = [], {"all": []}
    for meta in metas:
        if meta["label"] not in classes:
            raise ValueError(f"{out_dir}: clip {meta['clip']} has label {meta['label']!r}, "
                             f"not in classes {classes}")
        kp = np.load(out_dir / f"{meta['clip']}.npy")
        shape = (meta["height"], meta["width"])
        annotations.append(dict(
            frame_dir=meta["clip"], label=classes.index(meta["label"]),
            keypoint=kp[..., :2], keypoint_score=kp[..., 2], total_frames=kp.shape[1],
            img_shape=shape, original_shape=shape))
        split["all"].append(meta["clip"])
        if meta["split"]:
            split.setdefault(meta["split"], []).append(meta["clip"])
    atomic_write_bytes(out_dir / "classes.txt", ("\n".join(classes) + "\n").encode())
    return dump_pyskl(out_dir / "pyskl.pkl", annotations, split)


def check_layout_for_format(layout: str, fmt: str) -> None:
    """COCO2DClips reads 17 joints: other layouts need ``--format pyskl``."""
    if fmt == "coco2d" and get_layout(layout).num_joints != 17:
        raise ValueError(f"the COCO2D clip folder holds COCO-17 joints; layout {layout!r} has "
                         f"{get_layout(layout).num_joints}: use --format pyskl")
