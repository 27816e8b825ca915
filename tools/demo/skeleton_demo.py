"""Skeleton action recognition on a video: poses, sliding windows, annotated MP4 and JSON.

Example::

    uv run tools/demo/skeleton_demo.py my_video.mp4 \
        --config configs/skeleton/stgcn_coco2d_custom.py \
        --checkpoint work_dirs/stgcn_coco2d_custom/epoch_30.pth --out demo.mp4

``--config`` may be left out for checkpoints written by tools/train.py (the config is in the
checkpoint). Writes ``demo.mp4`` (skeletons and the top-3 of the latest window on each frame)
and ``demo.json`` (one entry per window: frames, seconds, top-k, latency).

Stream mode: ``--camera 0`` (or ``--stream VIDEO_OR_URL``) reads frames through OpenCV as they
come, predicts each window when its last frame arrives (printed at once) and writes the
annotated MP4 as it goes; ``--max-frames N`` stops it (or Ctrl-C).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from mmengine.config import DictAction

from zoo.apis import init_recognizer
from zoo.apis.video_demo import annotate, recognise_frames, recognise_stream
from zoo.fileio import atomic_write_text
from zoo.pose import build_pose_estimator
from zoo.video_io import read_frames, video_info, write_video


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Skeleton action recognition demo")
    parser.add_argument("video", nargs="?", help="video file (or use --camera / --stream)")
    parser.add_argument("--camera", type=int, help="stream mode: OpenCV camera index")
    parser.add_argument("--stream", help="stream mode on a file or URL OpenCV can open")
    parser.add_argument("--max-frames", type=int, help="stream mode: stop after N frames")
    parser.add_argument("--config", help="model config (default: the one in the checkpoint)")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--out", required=True, help="annotated .mp4")
    parser.add_argument("--json", help="predictions (default: --out with .json)")
    parser.add_argument("--window", type=int, default=48, help="frames per prediction")
    parser.add_argument("--stride", type=int, default=16, help="frames between predictions")
    parser.add_argument("--topk", type=int, default=3)
    parser.add_argument("--max-persons", type=int, default=2)
    parser.add_argument("--estimator", default="mediapipe", help="POSE_ESTIMATORS name")
    parser.add_argument("--estimator-cfg", nargs="+", action=DictAction, default={})
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", action="store_true",
                        help="bf16 autocast for the recogniser (CPUs with AVX-512 BF16 / AMX)")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    model = init_recognizer(args.config, args.checkpoint, device=args.device, amp=args.amp)
    cfg = dict(type=args.estimator, **args.estimator_cfg)
    if args.estimator == "mediapipe":
        cfg.setdefault("max_persons", args.max_persons)
        layout = model.inference_meta.get("layout")
        if isinstance(layout, str) and layout in ("coco17", "mediapipe33"):
            cfg.setdefault("layout", layout)
    estimator = build_pose_estimator(cfg)
    if args.camera is not None or args.stream:
        return run_stream(args, model, estimator)
    if not args.video:
        raise SystemExit("give a VIDEO, --camera N or --stream SOURCE")
    info = video_info(args.video)
    frames = list(read_frames(args.video))
    if not frames:
        raise ValueError(f"{args.video}: the video has no frames")
    try:
        result = recognise_frames(frames, model, estimator, window=args.window,
                                  stride=args.stride, max_persons=args.max_persons,
                                  topk=args.topk)
    finally:
        estimator.close()
    fps = info["fps"] or 25.0
    write_video(args.out, annotate(frames, result, estimator.layout), fps=fps)
    report = dict(video=str(args.video), fps=fps, frames=len(frames), window=args.window,
                  stride=args.stride, pose_ms_per_frame=round(1000 * result.pose_seconds, 2),
                  windows=[w.to_dict(fps) for w in result.windows])
    return finish(args, report)


def finish(args: argparse.Namespace, report: dict, echo: bool = True) -> dict:
    json_path = Path(args.json) if args.json else Path(args.out).with_suffix(".json")
    atomic_write_text(json_path, json.dumps(report, indent=1))
    for w in report["windows"] if echo else ():
        best = w["top"][0]
        print(f"frames {w['start']}-{w['end'] - 1}: {best['label']} ({best['score']:.2f})")
    print(f"Annotated video: {args.out}; predictions: {json_path}")
    return report


def opencv_frames(source, max_frames: int | None):
    """RGB frames from an OpenCV capture (camera index, file or URL)."""
    import cv2

    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        raise SystemExit(f"cannot open video source {source!r}")
    try:
        count = 0
        while max_frames is None or count < max_frames:
            ok, frame = capture.read()
            if not ok:
                break
            count += 1
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()


def run_stream(args: argparse.Namespace, model, estimator) -> dict:
    import cv2

    source = args.camera if args.camera is not None else args.stream
    fps = 25.0
    if args.camera is None:
        capture = cv2.VideoCapture(source)
        fps = capture.get(cv2.CAP_PROP_FPS) or fps
        capture.release()
    windows: list = []

    def annotated():
        seen = 0
        stream = recognise_stream(opencv_frames(source, args.max_frames), model, estimator,
                                  window=args.window, stride=args.stride,
                                  max_persons=args.max_persons, topk=args.topk,
                                  windows=windows)
        try:
            for frame in stream:
                while seen < len(windows):  # report each window as soon as it is predicted
                    w = windows[seen]
                    print(f"frames {w.start}-{w.end - 1}: {w.top[0][0]} ({w.top[0][1]:.2f})",
                          flush=True)
                    seen += 1
                yield frame
        except KeyboardInterrupt:
            return

    try:
        frames = write_video(args.out, annotated(), fps=fps)
    finally:
        estimator.close()
    report = dict(video=str(source), fps=fps, frames=frames, window=args.window,
                  stride=args.stride, windows=[w.to_dict(fps) for w in windows])
    return finish(args, report, echo=False)


if __name__ == "__main__":
    main()
