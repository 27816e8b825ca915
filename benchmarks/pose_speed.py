"""Speed of the video-to-prediction path on this CPU: pose extraction (frames/s) and the
skeleton demo's recognition latency per window, with 1 and 2 threads.

Each measurement runs in its own process pinned to the first N CPUs (``taskset``; MediaPipe
has no thread option, pinning is what limits it) with ``OMP_NUM_THREADS=N`` and
``torch.set_num_threads(N)``. The video is made from scikit-image's astronaut photo (a real
person) moving across a 640 x 360 grey frame. Keypoint R-CNN runs on random weights in
torchvision's layout (the real file cannot be downloaded here; the work per frame is the same
for a fixed number of detections, so ``max_detections`` is set).

    uv run benchmarks/pose_speed.py            # writes results/pose_speed.json and .md
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parents[1]


def make_video(path: Path, frames: int) -> None:
    import numpy as np
    import skimage.data
    from skimage.transform import resize

    from zoo.video_io import write_video

    person = (resize(skimage.data.astronaut(), (300, 300), anti_aliasing=True) * 255
              ).astype(np.uint8)
    out = []
    for k in range(frames):
        frame = np.full((360, 640, 3), 90, np.uint8)
        x = 40 + (4 * k) % 280
        frame[30:330, x:x + 300] = person
        out.append(frame)
    write_video(path, out, fps=25)


def worker(kind: str, video: str, threads: int, frames: int) -> dict:
    """Runs inside the pinned process; returns the timings."""
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    from zoo.pose import build_pose_estimator
    from zoo.video_io import read_frames

    images = list(read_frames(video))[:frames]
    if kind in ("mediapipe", "keypoint_rcnn"):
        if kind == "mediapipe":
            est = build_pose_estimator(dict(type="mediapipe", max_persons=1))
        else:
            est = _random_keypoint_rcnn()
        est(images[0])  # warm-up (graph / allocator set-up)
        est.reset()
        times = []
        for image in images:
            t0 = time.perf_counter()
            est(image)
            times.append(time.perf_counter() - t0)
        return dict(frames=len(times), seconds=sum(times), fps=len(times) / sum(times),
                    median_ms=1000 * statistics.median(times))
    # recognition latency per window (configs/skeleton/stgcn_coco2d_custom.py: PysklSTGCN,
    # 48-frame window, 5 test clips, 2 persons); weights do not change the time
    from zoo.apis import inference_skeleton, init_recognizer

    model = init_recognizer(str(REPO / "configs/skeleton/stgcn_coco2d_custom.py"), None,
                            classes=["a", "b", "c"])
    rng = np.random.default_rng(0)
    window = rng.uniform(0, 640, (2, 48, 17, 3)).astype(np.float32)
    window[..., 2] = 0.9
    inference_skeleton(model, window, img_shape=(360, 640))
    times = []
    for _ in range(frames):
        t0 = time.perf_counter()
        inference_skeleton(model, window, img_shape=(360, 640))
        times.append(time.perf_counter() - t0)
    return dict(windows=len(times), median_ms=1000 * statistics.median(times),
                mean_ms=1000 * statistics.mean(times))


def _random_keypoint_rcnn():
    import io

    import torch

    from zoo.pose import build_pose_estimator
    from zoo.pose.keypoint_rcnn import build_keypoint_rcnn

    torch.manual_seed(0)
    model = build_keypoint_rcnn()
    with torch.no_grad():
        model.roi_heads.box_predictor.cls_score.bias.copy_(torch.tensor([-8.0, 8.0]))
    path = Path(tempfile.mkdtemp()) / "kprcnn_random.pth"
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    path.write_bytes(buf.getvalue())
    from zoo.hub.download import sha256_file

    return build_pose_estimator(dict(type="keypoint_rcnn", checkpoint=str(path),
                                     sha256=sha256_file(path), max_detections=2))


def run_pinned(kind: str, video: Path, threads: int, frames: int) -> dict:
    cpus = ",".join(str(c) for c in sorted(os.sched_getaffinity(0))[:threads])
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    cmd = [sys.executable, __file__, "--worker", kind, str(video), str(threads), str(frames)]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", cpus] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40, help="MediaPipe frames timed")
    parser.add_argument("--rcnn-frames", type=int, default=3, help="Keypoint R-CNN frames")
    parser.add_argument("--windows", type=int, default=10, help="recognition windows timed")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "astronaut.mp4"
        make_video(video, args.frames)
        rows = []
        for threads in args.threads:
            rows.append(dict(threads=threads,
                             mediapipe=run_pinned("mediapipe", video, threads, args.frames),
                             keypoint_rcnn=run_pinned("keypoint_rcnn", video, threads,
                                                      args.rcnn_frames),
                             recognition=run_pinned("recognition", video, threads,
                                                    args.windows)))
    result = dict(command="uv run benchmarks/pose_speed.py " + " ".join(argv or sys.argv[1:]),
                  cpu=platform.processor() or platform.machine(), cpus=os.cpu_count(),
                  load_before=load_before, load_after=os.getloadavg()[0],
                  video="640x360, astronaut photo 300x300 moving", rows=rows)
    from zoo.fileio import atomic_write_text

    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / "pose_speed.json", json.dumps(result, indent=1))
    lines = [
        "# Pose extraction and demo latency on this CPU",
        "",
        f"Command: `{result['command'].strip()}`. Load average before / after: "
        f"{load_before:.1f} / {result['load_after']:.1f} (shared machine, {os.cpu_count()} "
        "CPUs). Each row runs pinned to the first N CPUs.",
        "",
        "| threads | MediaPipe Pose frames/s (ms/frame) | Keypoint R-CNN R50-FPN frames/s "
        "(ms/frame) | recognition ms/window | demo ms/window at stride 16 (pose + recognition) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        mp, rc, rec = row["mediapipe"], row["keypoint_rcnn"], row["recognition"]
        demo = 16 * mp["median_ms"] + rec["median_ms"]
        lines.append(f"| {row['threads']} | {mp['fps']:.1f} ({mp['median_ms']:.0f}) | "
                     f"{rc['fps']:.2f} ({rc['median_ms']:.0f}) | {rec['median_ms']:.0f} | "
                     f"{demo:.0f} |")
    lines += ["", "MediaPipe: `mediapipe==0.10.14`, model_complexity 1, video mode, one person; "
              f"median over {args.frames} frames after one warm-up frame. Keypoint R-CNN: "
              "torchvision's R50-FPN at its default 800 px shorter side, random weights, 2 "
              f"detections per frame, {args.rcnn_frames} frames. Recognition: "
              "configs/skeleton/stgcn_coco2d_custom.py (PysklSTGCN, COCO-17, 2 persons, "
              "48-frame window, 5 test clips) through zoo.apis.inference_skeleton, median of "
              f"{args.windows} windows. The demo column adds the pose time of the 16 new "
              "frames each window brings (MediaPipe). When the load average exceeds the CPU count "
              "(a shared machine), the 2-thread rows compete with other processes and can be "
              "slower than the 1-thread ones; compare rows of one run only."]
    atomic_write_text(RESULTS / "pose_speed.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return result


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, video, threads, frames = sys.argv[2], sys.argv[3], int(sys.argv[4]), \
            int(sys.argv[5])
        print(json.dumps(worker(kind, video, threads, frames)))
    else:
        main()
