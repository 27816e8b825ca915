"""Cost of the topology losses: forward+backward time and peak extra memory, 2-D and 3-D.

Losses (2 classes, softmax, random logits and labels): the zoo's ``DiceCELoss`` (MONAI),
``SoftClDiceLoss`` and MONAI's ``SoftclDiceLoss`` (same settings), ``DiceClDiceLoss``,
``DiceCESkeletonRecallLoss``; at 2-D batch 2 x 512x512 and 3-D batch 1 x 96^3. Each case runs
in a fresh subprocess (single thread); time is the median of ``--repeats`` forward+backward
passes after one warm-up, memory the growth of the process's peak resident set over the
inputs (``ru_maxrss``), i.e. what the loss adds on the CPU. Also the cost per sample of the
Skeleton Recall target transform (``TubedSkeleton``: scikit-image skeletonize + 2 dilations)
on a generated 512x512 wall and a 96^3 volume of random tubes.

Run: ``OMP_NUM_THREADS=1 uv run python benchmarks/topology_losses.py [--repeats 5]``.
Writes ``benchmarks/results/topology_losses.{json,md}``. Timings depend on machine load.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from zoo.fileio import atomic_write_text

REPO = Path(__file__).resolve().parents[1]
LOSSES = {
    "Dice + CE (MONAI)": "dict(type='DiceCELoss')",
    "soft clDice (zoo)": "dict(type='SoftClDiceLoss')",
    "soft clDice (MONAI)": "monai",
    "Dice + clDice (zoo)": "dict(type='DiceClDiceLoss')",
    "Dice + CE + Skeleton Recall (zoo)": "dict(type='DiceCESkeletonRecallLoss')",
}
SHAPES = {"2-D 2x512x512": (2, 512, 512), "3-D 1x96^3": (1, 96, 96, 96)}

CHILD = r"""
import json, resource, statistics, sys, time
import torch
torch.set_num_threads(1)
import zoo.losses  # noqa
from zoo.registry import MODELS
spec, shape, repeats = sys.argv[1], tuple(json.loads(sys.argv[2])), int(sys.argv[3])
if spec == "monai":
    from monai.losses import SoftclDiceLoss
    loss = SoftclDiceLoss(softmax=True, to_onehot_y=True, include_background=False)
    call = lambda x, y, s: loss(x, y)
else:
    loss = MODELS.build(eval(spec))
    call = lambda x, y, s: loss(x, y, skel=s)
g = torch.Generator().manual_seed(0)
logits = torch.randn((shape[0], 2, *shape[1:]), generator=g)
target = torch.randint(0, 2, (shape[0], 1, *shape[1:]), generator=g)
skel = target.clone()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
times = []
for i in range(repeats + 1):
    x = logits.clone().requires_grad_(True)
    t = time.perf_counter()
    call(x, target, skel).backward()
    if i:
        times.append(time.perf_counter() - t)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(dict(seconds=statistics.median(times), extra_mib=(peak - base) / 1024)))
"""


def run_case(spec: str, shape: tuple, repeats: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", CHILD, spec, json.dumps(shape), str(repeats)],
                         check=True, capture_output=True, text=True, env=env, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def transform_cost(repeats: int) -> dict:
    import time

    import numpy as np
    from zoo.datasets.segmentation.transforms import tubed_skeleton
    from zoo.datasets.segmentation.walls import make_wall

    wall = make_wall(0, 512)["gt_seg"]
    rng = np.random.default_rng(0)
    vol = np.zeros((96, 96, 96), np.uint8)
    for _ in range(12):  # random straight tubes of radius 2
        p, q = rng.uniform(5, 91, 3), rng.uniform(5, 91, 3)
        for t in np.linspace(0, 1, 200):
            c = np.round(p + t * (q - p)).astype(int)
            vol[tuple(slice(max(v - 2, 0), v + 3) for v in c)] = 1
    out = {}
    for name, seg in (("2-D 512x512 wall", wall), ("3-D 96^3 tubes", vol)):
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            tubed_skeleton(seg)
            times.append(time.perf_counter() - t)
        out[name] = statistics.median(times)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(REPO / "benchmarks/results"))
    args = parser.parse_args(argv)
    results: dict = {"repeats": args.repeats, "losses": {}, "transform_seconds": {}}
    for shape_name, shape in SHAPES.items():
        for loss_name, spec in LOSSES.items():
            results["losses"].setdefault(shape_name, {})[loss_name] = \
                run_case(spec, shape, args.repeats)
            print(shape_name, loss_name, results["losses"][shape_name][loss_name], flush=True)
    results["transform_seconds"] = transform_cost(args.repeats)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "topology_losses.json", json.dumps(results, indent=2))
    lines = ["# Cost of the topology losses (CPU, one thread)", "",
             "Command: `OMP_NUM_THREADS=1 uv run python benchmarks/topology_losses.py "
             f"--repeats {args.repeats}`; median forward+backward time, growth of peak RSS. "
             "Measured on a shared machine: compare rows, not absolute times.", "",
             "| input | loss | fwd+bwd (ms) | extra peak memory (MiB) |", "|---|---|---:|---:|"]
    for shape_name, per_loss in results["losses"].items():
        for loss_name, r in per_loss.items():
            lines.append(f"| {shape_name} | {loss_name} | {1000 * r['seconds']:.1f} | "
                         f"{r['extra_mib']:.0f} |")
    lines += ["", "| Skeleton Recall target (`TubedSkeleton`) | ms per sample |", "|---|---:|"]
    for name, sec in results["transform_seconds"].items():
        lines.append(f"| {name} | {1000 * sec:.1f} |")
    atomic_write_text(out / "topology_losses.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
