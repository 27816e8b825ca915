"""Topology losses head to head: the zoo's 3-D / 2-D soft clDice vs MONAI's ``SoftclDiceLoss``
and the overhead of Skeleton Recall and of clDice over a plain Dice + CE step (issue 21).

Values first: the zoo's ``SoftClDiceLoss`` and MONAI's ``SoftclDiceLoss`` (softmax, index
target, background excluded) are computed on the same logits and labels, loss and gradient
compared. Then the cases run interleaved in one single-thread process: forward+backward time
(median of ``--inner`` passes after a warm-up) and the bytes the autograd graph saves for
the backward pass (what the loss adds to a step's memory), over ``--rounds`` rounds, and
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
# A whole training step (network forward + loss + backward; no optimizer update) with the
# walls configs' U-Net (configs/topology/_base_walls_unet.py) on the 2-D input.
STEP_CASES = {"U-Net step, Dice + CE": "dicece",
              "U-Net step, Dice + CE + Skeleton Recall (zoo)": "dicece+srec"}
STEP_SHAPE = "2-D 2x512x512"

def build(case: str):
    """``call(logits, target, skel)`` of one case."""
    import zoo.losses  # noqa: F401

    from zoo.registry import MODELS

    dicece = MODELS.build(dict(type="DiceCELoss"))
    if case == "monai":
        from monai.losses import SoftclDiceLoss

        ref = SoftclDiceLoss(softmax=True, to_onehot_y=True, include_background=False)
        return lambda x, y, s: ref(x, y)
    if case == "dicece":
        return lambda x, y, s: dicece(x, y)
    if case == "dicece+srec":
        srec = MODELS.build(dict(type="SkeletonRecallLoss"))
        return lambda x, y, s: dicece(x, y) + srec(x, y, s)
    cldice = MODELS.build(dict(type="SoftClDiceLoss"))
    return lambda x, y, s: cldice(x, y)


def unet_step(loss_call):
    """``call(images, target, skel)``: the walls U-Net's forward, the loss and the backward."""
    import zoo.models  # noqa: F401

    from zoo.registry import MODELS

    net = MODELS.build(dict(type="MonaiUNet", spatial_dims=2, in_channels=3, out_channels=2,
                            channels=(16, 32, 64, 128), strides=(2, 2, 2), num_res_units=1))

    def call(images, target, skel):
        net.zero_grad(set_to_none=True)
        return loss_call(net(images.detach()), target, skel)  # no input gradient
    return call


def inputs(shape: tuple, density: float) -> tuple:
    import torch

    g = torch.Generator().manual_seed(0)
    logits = torch.randn((shape[0], 2, *shape[1:]), generator=g)
    target = torch.randint(0, 2, (shape[0], 1, *shape[1:]), generator=g)
    skel = target * (torch.rand(target.shape, generator=g) < density)
    return logits, target, skel


def run_case(call, data: tuple, inner: int) -> dict:
    """Median forward+backward seconds of ``inner`` passes (after a warm-up) and the MiB the
    autograd graph saves for the backward pass (distinct storages)."""
    import time

    import torch

    logits, target, skel = data  # logits: the network's input images for a step case
    saved: dict[int, int] = {}

    def pack(t):
        storage = t.untyped_storage()
        saved[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        call(logits.clone().requires_grad_(True), target, skel).backward()
    times = []
    for _ in range(inner):
        x = logits.clone().requires_grad_(True)
        t = time.perf_counter()
        call(x, target, skel).backward()
        times.append(time.perf_counter() - t)
    return dict(seconds=statistics.median(times), saved_mib=sum(saved.values()) / 2 ** 20)


def row_stats(runs: list[dict], base: list[float]) -> dict:
    """Median and range of a case's times over the rounds, its saved MiB, and its time over
    the baseline's of the same round (paired: load drifts between rounds)."""
    t = [x["seconds"] for x in runs]
    ratios = [a / b for a, b in zip(t, base)]
    return dict(ms=1000 * statistics.median(t), ms_min=1000 * min(t), ms_max=1000 * max(t),
                mib=statistics.median(x["saved_mib"] for x in runs),
                vs_dicece=statistics.median(ratios), vs_dicece_min=min(ratios),
                vs_dicece_max=max(ratios))


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
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--inner", type=int, default=3)
    parser.add_argument("--skeleton-density", type=float, default=0.05)
    parser.add_argument("--out", default=str(REPO / "benchmarks/results"))
    args = parser.parse_args(argv)
    values = value_check()
    print("values agree:", values, flush=True)
    import torch

    torch.set_num_threads(1)
    calls = {case: build(case) for case in CASES.values()}
    steps = {name: unet_step(build(case)) for name, case in STEP_CASES.items()}
    data = {name: inputs(shape, args.skeleton_density) for name, shape in SHAPES.items()}
    g = torch.Generator().manual_seed(2)
    images = torch.randn((SHAPES[STEP_SHAPE][0], 3, *SHAPES[STEP_SHAPE][1:]), generator=g)
    step_data = (images, *data[STEP_SHAPE][1:])
    runs: dict = {s: {c: [] for c in CASES} for s in SHAPES}
    step_runs: dict = {c: [] for c in STEP_CASES}
    for r in range(args.rounds):
        for shape_name in SHAPES:
            order = list(CASES.items()) if r % 2 == 0 else list(CASES.items())[::-1]
            for name, case in order:
                res = run_case(calls[case], data[shape_name], args.inner)
                runs[shape_name][name].append(res)
                print(r, shape_name, name, res, flush=True)
        for name in (list(STEP_CASES) if r % 2 == 0 else list(STEP_CASES)[::-1]):
            res = run_case(steps[name], step_data, args.inner)
            step_runs[name].append(res)
            print(r, STEP_SHAPE, name, res, flush=True)
    table: dict = {}
    for shape_name, per in runs.items():
        table[shape_name] = {}
        base = [x["seconds"] for x in per["Dice + CE"]]
        for name, rs in per.items():
            table[shape_name][name] = row_stats(rs, base)
        if shape_name == STEP_SHAPE:
            base = [x["seconds"] for x in step_runs["U-Net step, Dice + CE"]]
            for name, rs in step_runs.items():
                table[shape_name][name] = row_stats(rs, base)
        zoo = [x["seconds"] for x in per["soft clDice (zoo)"]]
        ref = [x["seconds"] for x in per["soft clDice (MONAI)"]]
        table[shape_name]["zoo / MONAI clDice"] = dict(
            ratio=statistics.median(a / b for a, b in zip(zoo, ref)),
            min=min(a / b for a, b in zip(zoo, ref)), max=max(a / b for a, b in zip(zoo, ref)))
    results = dict(command="OMP_NUM_THREADS=1 nice -n 10 uv run python "
                           "benchmarks/topology_loss_speed.py "
                           + " ".join(sys.argv[1:] if argv is None else argv),
                   values=values, rounds=args.rounds, inner=args.inner,
                   skeleton_density=args.skeleton_density, table=table, runs=runs,
                   step_runs=step_runs,
                   load_average=os.getloadavg())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "topology_loss_speed.json", json.dumps(results, indent=2))
    lines = ["# Topology losses: zoo vs MONAI soft clDice, Skeleton Recall overhead", "",
             f"Command: `{results['command']}`. One thread, {args.rounds} interleaved rounds "
             f"(each the median of {args.inner} pass(es) after a warm-up; the table: median "
             "over the rounds and their range); memory: bytes the autograd graph keeps for "
             "the backward pass; "
             f"load average (1 min) at the end {results['load_average'][0]:.1f} on "
             f"{os.cpu_count()} cores: under load compare columns within a row, not absolute "
             "times.", "",
             "Values: " + "; ".join(
                 f"{k}: loss zoo {v['zoo']:.6f} / MONAI {v['monai']:.6f}, gradient max diff "
                 f"{v['grad_max_abs_diff']:.1e} (max |grad| {v['grad_max_abs']:.1e})"
                 for k, v in values.items()), "",
             "| input | loss | fwd+bwd ms (median) | range | vs Dice + CE of the same round "
             "| saved for backward MiB |",
             "|---|---|---:|---:|---:|---:|"]
    for shape_name, per in table.items():
        for name, r in per.items():
            if name == "zoo / MONAI clDice":
                lines.append(f"| {shape_name} | **zoo / MONAI soft clDice time (paired)** | "
                             f"**{r['ratio']:.2f}** | {r['min']:.2f}-{r['max']:.2f} | | |")
                continue
            lines.append(f"| {shape_name} | {name} | {r['ms']:.1f} | {r['ms_min']:.0f}-"
                         f"{r['ms_max']:.0f} | {r['vs_dicece']:.2f}x ({r['vs_dicece_min']:.2f}-"
                         f"{r['vs_dicece_max']:.2f}) | {r['mib']:.0f} |")
    lines += ["", f"Skeleton on {100 * args.skeleton_density:.0f} % of the voxels unless "
              "stated (a tubed skeleton of thin structures covers a few per cent). U-Net step "
              "rows: the walls configs' MONAI U-Net (16-128 channels, 1 residual unit) forward, "
              "loss and backward on 2x3x512x512 images; their ratio is against the Dice + CE "
              "step of the same round."]
    atomic_write_text(out / "topology_loss_speed.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return results


if __name__ == "__main__":
    main()
