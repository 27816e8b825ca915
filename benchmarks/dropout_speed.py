"""ST-GCN's temporal dropout drawn by ``nn.Dropout`` vs ``FastDropout`` (``fast_dropout=True``):
one SGD training step at the NTU size (2 persons, 25 joints, 64 frames, dropout 0.5 as the
official NTU config), fp32 and under bf16 autocast, the two models side by side with the same
weights and the modes interleaved repeat by repeat. Reports the median step time of
``--repeats`` runs, the spread, and the ratio ``nn.Dropout / FastDropout``::

    OMP_NUM_THREADS=1 uv run benchmarks/dropout_speed.py --threads 1 --batch 4 --repeats 9

Writes ``benchmarks/results/dropout_speed.json`` and ``.md``. (The other modes of the zoo's
ST-GCN, against the official module, are in ``skeleton_speed_modes.py``, whose ST-GCN is built
with ``nn.Dropout``.)
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from mmengine.registry import init_default_scope

sys.path.insert(0, str(Path(__file__).resolve().parent))
from skeleton_speed import CLASSES, FRAMES, JOINTS, PERSONS, ZOO_MODELS  # noqa: E402

from zoo.fileio import atomic_write_text  # noqa: E402
from zoo.registry import MODELS  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def build(fast: bool) -> torch.nn.Module:
    cfg = copy.deepcopy(ZOO_MODELS["stgcn"])
    cfg["backbone"]["fast_dropout"] = fast
    torch.manual_seed(0)
    return MODELS.build(cfg).train()


def train_step(model: torch.nn.Module, x: torch.Tensor, labels: torch.Tensor, bf16: bool):
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def run():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.cross_entropy(model(x), labels)
        loss.backward()
        optimizer.step()
    return run


def measure(args) -> dict:
    torch.set_num_threads(args.threads)
    init_default_scope("zoo")
    x = torch.randn(args.batch, PERSONS, FRAMES, JOINTS, 3)
    labels = torch.randint(0, CLASSES, (args.batch,))
    modes = {}
    for precision in ("fp32", "bf16"):
        for name, fast in (("nn.Dropout", False), ("FastDropout", True)):
            modes[(precision, name)] = train_step(build(fast), x, labels, precision == "bf16")
    times: dict = {key: [] for key in modes}
    for r in range(args.warmup + args.repeats):
        for key, run in modes.items():
            start = time.process_time()
            run()
            if r >= args.warmup:
                times[key].append(time.process_time() - start)
    rows = {}
    for precision in ("fp32", "bf16"):
        ref, fast = times[(precision, "nn.Dropout")], times[(precision, "FastDropout")]
        rows[precision] = dict(
            torch_dropout_s=statistics.median(ref), fast_dropout_s=statistics.median(fast),
            torch_dropout_range=[min(ref), max(ref)], fast_dropout_range=[min(fast), max(fast)],
            ratio=statistics.median(ref) / statistics.median(fast))
    return rows


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=9)
    p.add_argument("--out", default=str(RESULTS / "dropout_speed"))
    args = p.parse_args(argv)
    load_before = os.getloadavg()[0]
    rows = measure(args)
    command = ("OMP_NUM_THREADS=1 uv run benchmarks/dropout_speed.py " + " ".join(
        f"--{k} {getattr(args, k)}" for k in ("threads", "batch", "warmup", "repeats")))
    lines = [f"# ST-GCN training step: nn.Dropout vs FastDropout ({args.threads} thread(s), "
             f"batch {args.batch}, NTU size, dropout 0.5; median of {args.repeats}, cpu clock)",
             "", f"Command: `{command}`", "",
             f"Load average (1 min) before / after: {load_before:.1f} / "
             f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.", "",
             "| precision | nn.Dropout (s) | min-max | FastDropout (s) | min-max | speed-up |",
             "|---|---:|---:|---:|---:|---:|"]
    for precision, r in rows.items():
        lines.append(f"| {precision} | {r['torch_dropout_s']:.3f} | "
                     f"{r['torch_dropout_range'][0]:.3f}-{r['torch_dropout_range'][1]:.3f} | "
                     f"{r['fast_dropout_s']:.3f} | "
                     f"{r['fast_dropout_range'][0]:.3f}-{r['fast_dropout_range'][1]:.3f} | "
                     f"{r['ratio']:.2f}x |")
    lines.append("")
    atomic_write_text(args.out + ".md", "\n".join(lines))
    atomic_write_text(args.out + ".json", json.dumps(
        {"command": command, "args": vars(args), "rows": rows}, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
