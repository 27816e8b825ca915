"""Extract skeletons from videos into a COCO2D clip folder (default) or a PYSKL pickle.

Examples::

    uv run tools/data/extract_pose.py my_videos/ data/my_clips            # MediaPipe, offline
    uv run tools/data/extract_pose.py my_videos/labels.csv data/my_clips --max-persons 2
    uv run tools/data/extract_pose.py clip.mp4 data/one --estimator keypoint_rcnn
    uv run tools/data/extract_pose.py my_videos/ data/my_pkl --format pyskl --shard 0/2

INPUT is a video, a folder of videos (a video in a sub-folder is labelled with the
sub-folder's name) or a ``labels.csv`` with ``video,label[,split]``. Each video is written
atomically; a rerun skips the finished ones (so a killed run resumes), ``--shard i/n`` takes
every n-th video from the i-th (0-based) for parallel runs. An unreadable or empty video is
named and skipped; the exit status is 1 when any failed. See :mod:`zoo.pose.extract` for the
output layout and docs/custom_data.md for the whole path to a trained model.
"""
from __future__ import annotations

import argparse
import sys

from mmengine.config import DictAction

from zoo.pose import build_pose_estimator
from zoo.pose.extract import (
    check_layout_for_format,
    collect_videos,
    extract_all,
    shard_jobs,
    write_labels_csv,
    write_pyskl_pickle,
)


def _shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard wants i/n (e.g. 0/4), got {text!r}") \
            from None
    if not (n >= 1 and 0 <= i < n):
        raise argparse.ArgumentTypeError(f"--shard {text}: need 0 <= i < n")
    return i, n


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Videos -> skeleton clips")
    parser.add_argument("input", help="a video file, a folder of videos or a labels.csv "
                                      "(video,label[,split])")
    parser.add_argument("out_dir", help="output folder (COCO2D clip folder)")
    parser.add_argument("--estimator", default="mediapipe",
                        help="POSE_ESTIMATORS name: mediapipe (default, offline) or "
                             "keypoint_rcnn (weights from the zoo hub)")
    parser.add_argument("--estimator-cfg", nargs="+", action=DictAction, default={},
                        help="estimator arguments, e.g. person_thr=0.7 device=cuda")
    parser.add_argument("--layout", default="coco17",
                        help="joint layout to write (mediapipe: coco17 or mediapipe33)")
    parser.add_argument("--max-persons", type=int, default=2, help="persons kept per clip (M)")
    parser.add_argument("--rank", choices=["area", "motion"], default="area",
                        help="which tracks to keep when there are more than M")
    parser.add_argument("--frame-stride", type=int, default=1, help="use every k-th frame")
    parser.add_argument("--format", choices=["coco2d", "pyskl"], default="coco2d")
    parser.add_argument("--shard", type=_shard, help="i/n: this run's part of the videos")
    parser.add_argument("--threads", type=int,
                        help="torch / OpenCV threads (MediaPipe: limit the CPUs with taskset)")
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args(argv)


def estimator_config(args: argparse.Namespace) -> dict:
    cfg = dict(type=args.estimator, **args.estimator_cfg)
    if args.estimator == "mediapipe":
        cfg.setdefault("layout", args.layout)
        cfg.setdefault("max_persons", args.max_persons)
    return cfg


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        import cv2
        import torch

        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    jobs = shard_jobs(collect_videos(args.input), args.shard)
    estimator = build_pose_estimator(estimator_config(args))
    if estimator.layout != args.layout:
        raise ValueError(f"estimator {args.estimator!r} gives layout {estimator.layout!r}, "
                         f"not --layout {args.layout!r}")
    check_layout_for_format(estimator.layout, args.format)
    try:
        report = extract_all(jobs, args.out_dir, estimator, max_persons=args.max_persons,
                             rank=args.rank, frame_stride=args.frame_stride,
                             progress=not args.no_progress, estimator_name=args.estimator)
    finally:
        estimator.close()
    labels = write_labels_csv(args.out_dir)
    print(report.summary())
    print(f"Clip table: {labels}")
    if args.format == "pyskl":
        print(f"PYSKL pickle: {write_pyskl_pickle(args.out_dir)}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
