"""Two hot paths of the split-digits continual runs, each against its alternative.

* The training step of the split-digits SmallCNN (forward, cross-entropy, backward; batches
  of 64 and of 128 = 64 current + 64 replayed samples) with NCHW weights and with
  channels-last weights (``tools/train.py --channels-last``, :mod:`zoo.engine.memory_format`).
* The per-sample gradients behind EWC's Fisher and MAS's importance, for one task's data
  (270 samples, chunks of 32 as ``FisherRows``), eval-mode SmallCNN: ``torch.func.vmap`` vs
  the batched pass of :mod:`zoo.continual.strategies.per_sample` (and the largest relative
  difference between the two).

Single thread, the variants interleaved repeat by repeat, median and range over the repeats.
Run: ``OMP_NUM_THREADS=1 uv run python benchmarks/continual_hot_paths.py``. Writes
``benchmarks/results/continual_hot_paths.{json,md}``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope

from zoo.continual.strategies.per_sample import per_sample_grads
from zoo.engine.memory_format import channels_last_
from zoo.fileio import atomic_write_text
from zoo.registry import MODELS
from zoo.runner_utils import load_config

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs/continual/split_digits/ewc.py"


def _model():
    torch.manual_seed(0)
    return MODELS.build(load_config(str(CONFIG), {}, "/tmp/continual_hot_paths").model)


def _timed(fn, inner: int) -> float:
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner * 1e3


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/continual_hot_paths"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    init_default_scope("zoo")

    nchw = _model().train()
    cl = _model().train()
    cl.load_state_dict(nchw.state_dict())
    channels_last_(cl)

    def step(model, x, y):
        def run():
            model.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
        return run

    cases = {}
    for batch in (64, 128):
        x, y = torch.rand(batch, 1, 8, 8), torch.randint(0, 10, (batch,))
        cases[f"train step, batch {batch}, NCHW weights"] = (step(nchw, x, y), 20)
        cases[f"train step, batch {batch}, channels-last weights"] = (step(cl, x, y), 20)

    fisher_model = _model().train()
    with torch.no_grad():
        for _ in range(3):
            fisher_model(torch.rand(64, 1, 8, 8))  # running statistics
    fisher_model.eval()
    names = [n for n, _ in fisher_model.named_parameters()]
    inputs, labels = torch.rand(270, 1, 8, 8), torch.randint(0, 10, (270,))

    def grads(batched: bool):
        def run():
            for i in range(0, len(inputs), 32):
                per_sample_grads(fisher_model, names, inputs[i:i + 32], labels[i:i + 32],
                                 batched=batched)
        return run

    cases["per-sample gradients, 270 samples, vmap"] = (grads(False), 2)
    cases["per-sample gradients, 270 samples, batched"] = (grads(True), 2)
    reference = per_sample_grads(fisher_model, names, inputs[:32], labels[:32], batched=False)
    batched = per_sample_grads(fisher_model, names, inputs[:32], labels[:32])
    max_rel = max(float((batched[n] - reference[n]).abs().max()
                        / reference[n].abs().max().clamp_min(1e-30)) for n in names)

    for fn, _ in cases.values():  # warm-up
        fn()
    times = {name: [] for name in cases}
    for _ in range(args.repeats):
        for name, (fn, inner) in cases.items():
            times[name].append(_timed(fn, inner))
    rows = [dict(case=name, median_ms=round(statistics.median(t), 3), min_ms=round(min(t), 3),
                 max_ms=round(max(t), 3)) for name, t in times.items()]
    by_name = {r["case"]: r["median_ms"] for r in rows}
    ratios = {
        f"batch {b}: NCHW / channels-last": round(
            by_name[f"train step, batch {b}, NCHW weights"]
            / by_name[f"train step, batch {b}, channels-last weights"], 2) for b in (64, 128)}
    ratios["per-sample gradients: vmap / batched"] = round(
        by_name["per-sample gradients, 270 samples, vmap"]
        / by_name["per-sample gradients, 270 samples, batched"], 2)
    payload = dict(torch=torch.__version__, threads=1, repeats=args.repeats, rows=rows,
                   ratios=ratios, per_sample_max_relative_difference=max_rel,
                   command=" ".join(["OMP_NUM_THREADS=1 uv run python",
                                     "benchmarks/continual_hot_paths.py",
                                     *(sys.argv[1:] if argv is None else argv)]))
    out = Path(args.out)
    atomic_write_text(out.with_suffix(".json"), json.dumps(payload, indent=2) + "\n")
    lines = [f"# Split-digits continual hot paths (torch {torch.__version__}, 1 thread)", "",
             f"Command: `{payload['command']}`", "",
             f"Median and range over {args.repeats} interleaved repeats.", "",
             "| case | median ms | range ms |", "|---|---:|---:|"]
    lines += [f"| {r['case']} | {r['median_ms']:.2f} | {r['min_ms']:.2f}-{r['max_ms']:.2f} |"
              for r in rows]
    lines += ["", "Ratios (medians): " + "; ".join(f"{k} {v:.2f}x" for k, v in ratios.items()),
              "", f"Batched vs vmap per-sample gradients: largest difference {max_rel:.1e} of the "
              "largest gradient of a parameter (32 samples)."]
    atomic_write_text(out.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))
    return payload


if __name__ == "__main__":
    main()
