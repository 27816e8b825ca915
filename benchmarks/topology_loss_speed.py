"""Topology losses head to head: the zoo's 3-D / 2-D soft clDice vs MONAI's ``SoftclDiceLoss``
and the overhead of Skeleton Recall and of clDice over a plain Dice + CE step (issue 21).

Values first: the zoo's ``SoftClDiceLoss`` and MONAI's ``SoftclDiceLoss`` (softmax, index
target, background excluded) are computed on the same logits and labels, loss and gradient
compared. Then each case runs in a fresh single-thread subprocess: forward+backward time
(median of ``--inner`` passes after a warm-up) and the growth of the process's peak resident
set (``ru_maxrss``, what the loss adds). Cases are interleaved over ``--rounds`` rounds and
the table gives the median over rounds and its range. Inputs: 2 classes, random logits;
labels random; the Skeleton Recall skeleton is the label on a random ``--skeleton-density``
share of the voxels (the ``TubedSkeleton`` transform makes it in the data pipeline, its cost
per sample is in ``benchmarks/results/topology_losses.md``).

Run: ``OMP_NUM_THREADS=1 nice -n 10 uv run python benchmarks/topology_loss_speed.py``.
Writes ``benchmarks/results/topology_loss_speed.{json,md}``.
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
CASES = {
    "Dice + CE": "dicece",
    "Dice + CE + Skeleton Recall (zoo)": "dicece+srec",
    "soft clDice (zoo)": "cldice",
    "soft clDice (MONAI)": "monai",
}
SHAPES = {"2-D 2x512x512": (2, 512, 512), "3-D 1x96^3": (1, 96, 96, 96)}

CHILD = r"""
import json, resource, statistics, sys, time
import torch
torch.set_num_threads(1)
import zoo.losses  # noqa
from zoo.registry import MODELS
case, shape = sys.argv[1], tuple(json.loads(sys.argv[2]))
inner, density = int(sys.argv[3]), float(sys.argv[4])
dicece = MODELS.build(dict(type="DiceCELoss"))
srec = MODELS.build(dict(type="SkeletonRecallLoss"))
cldice = MODELS.build(dict(type="SoftClDiceLoss"))
if case == "monai":
    from monai.losses import SoftclDiceLoss
    ref = SoftclDiceLoss(softmax=True, to_onehot_y=True, include_background=False)
    call = lambda x, y, s: ref(x, y)
elif case == "dicece":
    call = lambda x, y, s: dicece(x, y)
elif case == "dicece+srec":
    call = lambda x, y, s: dicece(x, y) + srec(x, y, s)
else:
    call = lambda x, y, s: cldice(x, y)
g = torch.Generator().manual_seed(0)
logits = torch.randn((shape[0], 2, *shape[1:]), generator=g)
target = torch.randint(0, 2, (shape[0], 1, *shape[1:]), generator=g)
skel = target * (torch.rand(target.shape, generator=g) < density)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
times = []
for i in range(inner + 1):
    x = logits.clone().requires_grad_(True)
    t = time.perf_counter()
    call(x, target, skel).backward()
    if i:
        times.append(time.perf_counter() - t)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(dict(seconds=statistics.median(times), extra_mib=(peak - base) / 1024)))
"""


def run_case(case: str, shape: tuple, inner: int, density: float) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", CHILD, case, json.dumps(shape), str(inner),
                          str(density)], check=True, capture_output=True, text=True, env=env,
                         cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def value_check() -> dict:
    """Loss and gradient of the zoo's and MONAI's soft clDice on the same inputs."""
    import torch
    import zoo.losses  # noqa: F401
    from monai.losses import SoftclDiceLoss

    from zoo.registry import MODELS

    out = {}
    for name, shape in (("2-D 2x128x128", (2, 128, 128)), ("3-D 1x48^3", (1, 48, 48, 48))):
        g = torch.Generator().manual_seed(1)
        logits = torch.randn((shape[0], 2, *shape[1:]), generator=g)
        target = torch.randint(0, 2, (shape[0], 1, *shape[1:]), generator=g)
        a, b = logits.clone().requires_grad_(True), logits.clone().requires_grad_(True)
        la = MODELS.build(dict(type="SoftClDiceLoss"))(a, target)
        lb = SoftclDiceLoss(softmax=True, to_onehot_y=True, include_background=False)(b, target)
        la.backward()
        lb.backward()
        la, lb = la.detach(), lb.detach()
        out[name] = dict(zoo=float(la), monai=float(lb), loss_abs_diff=abs(float(la - lb)),
                         grad_max_abs_diff=float((a.grad - b.grad).abs().max()),
                         grad_max_abs=float(b.grad.abs().max()))
        if out[name]["loss_abs_diff"] > 1e-6 or \
                out[name]["grad_max_abs_diff"] > 1e-5 * out[name]["grad_max_abs"]:
            raise SystemExit(f"zoo and MONAI soft clDice disagree on {name}: {out[name]}")
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--inner", type=int, default=2)
    parser.add_argument("--skeleton-density", type=float, default=0.05)
    parser.add_argument("--out", default=str(REPO / "benchmarks/results"))
    args = parser.parse_args(argv)
    values = value_check()
    print("values agree:", values, flush=True)
    runs: dict = {s: {c: [] for c in CASES} for s in SHAPES}
    for r in range(args.rounds):
        for shape_name, shape in SHAPES.items():
            order = list(CASES.items()) if r % 2 == 0 else list(CASES.items())[::-1]
            for name, case in order:
                res = run_case(case, shape, args.inner, args.skeleton_density)
                runs[shape_name][name].append(res)
                print(r, shape_name, name, res, flush=True)
    table: dict = {}
    for shape_name, per in runs.items():
        table[shape_name] = {}
        for name, rs in per.items():
            t = [x["seconds"] for x in rs]
            m = [x["extra_mib"] for x in rs]
            table[shape_name][name] = dict(ms=1000 * statistics.median(t), ms_min=1000 * min(t),
                                           ms_max=1000 * max(t), mib=statistics.median(m))
    results = dict(command="OMP_NUM_THREADS=1 nice -n 10 uv run python "
                           "benchmarks/topology_loss_speed.py "
                           + " ".join(sys.argv[1:] if argv is None else argv),
                   values=values, rounds=args.rounds, inner=args.inner,
                   skeleton_density=args.skeleton_density, table=table, runs=runs,
                   load_average=os.getloadavg())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "topology_loss_speed.json", json.dumps(results, indent=2))
    lines = ["# Topology losses: zoo vs MONAI soft clDice, Skeleton Recall overhead", "",
             f"Command: `{results['command']}`. One thread per case, {args.rounds} interleaved "
             f"rounds of a fresh process each (median of {args.inner} passes after a warm-up); "
             f"load average at the end {results['load_average'][0]:.0f} on 2 cores, shared by "
             "8 jobs: compare columns within a row, not absolute times.", "",
             "Values: " + "; ".join(
                 f"{k}: loss zoo {v['zoo']:.6f} / MONAI {v['monai']:.6f}, gradient max diff "
                 f"{v['grad_max_abs_diff']:.1e} (max |grad| {v['grad_max_abs']:.1e})"
                 for k, v in values.items()), "",
             "| input | loss | fwd+bwd ms (median) | range | vs Dice + CE | extra peak MiB |",
             "|---|---|---:|---:|---:|---:|"]
    for shape_name, per in table.items():
        base = per["Dice + CE"]["ms"]
        for name, r in per.items():
            lines.append(f"| {shape_name} | {name} | {r['ms']:.1f} | {r['ms_min']:.0f}-"
                         f"{r['ms_max']:.0f} | {r['ms'] / base:.2f}x | {r['mib']:.0f} |")
        z, m = per["soft clDice (zoo)"]["ms"], per["soft clDice (MONAI)"]["ms"]
        lines.append(f"| {shape_name} | **zoo / MONAI clDice time** | **{z / m:.2f}** | | | |")
    lines += ["", f"Skeleton on {100 * args.skeleton_density:.0f} % of the voxels unless "
              "stated (a tubed skeleton of thin structures covers a few per cent)."]
    atomic_write_text(out / "topology_loss_speed.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return results


if __name__ == "__main__":
    main()
