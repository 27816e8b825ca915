"""The eager rewrites of ``fuse_for_inference`` beyond BatchNorm folding, on this CPU.

For the skeleton backbones at the NTU size (batch 4, 2 persons, 64 frames; the zoo's
``benchmarks/skeleton_speed.py`` models) it times, interleaved repeat by repeat:

* the whole model, inference, bf16 autocast and fp32: BatchNorm folded only
  (``fuse_for_inference(..., pointwise_gemm=False, module_folds=False)``), plus the modules'
  own folds (``module_folds=True``: CTR-GCN's units), plus the 1x1 convolutions as batched
  matrix products (both: the default);
* each distinct input shape of the folded model's 1x1 convolutions as ``F.conv2d`` and as
  :class:`zoo.ops.pointwise_gemm.PointwiseGemmConv2d` (bf16 autocast and fp32).

Run: ``OMP_NUM_THREADS=1 uv run python benchmarks/inference_rewrites.py``. Writes
``benchmarks/results/inference_rewrites.{json,md}``.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
from pathlib import Path

import torch
from mmengine.registry import init_default_scope

sys.path.insert(0, str(Path(__file__).resolve().parent))
from skeleton_speed import FRAMES, JOINTS, PERSONS, ZOO_MODELS  # noqa: E402
from skeleton_speed_modes import _infer, measure  # noqa: E402

from zoo.deploy import fuse_for_inference  # noqa: E402
from zoo.fileio import atomic_write_text  # noqa: E402
from zoo.ops.pointwise_gemm import PointwiseGemmConv2d, is_pointwise  # noqa: E402
from zoo.registry import MODELS  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def pointwise_shapes(model: torch.nn.Module, x: torch.Tensor) -> dict[tuple, int]:
    """``(input shape, out channels, stride)`` of every 1x1 convolution call -> call count."""
    seen: dict[tuple, int] = {}
    hooks = [m.register_forward_hook(
        lambda mod, inp, out: seen.__setitem__(
            key := (tuple(inp[0].shape), mod.out_channels, mod.stride), seen.get(key, 0) + 1))
        for m in model.modules() if is_pointwise(m)]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return seen


def run_model(name: str, batch: int, repeats: int) -> dict:
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(ZOO_MODELS[name]))
    x = torch.randn(batch, 1, PERSONS, FRAMES, JOINTS, 3)
    model.train()
    with torch.no_grad():  # BatchNorm statistics for the folding
        model(x)
    model.eval()
    variants = {"BN folded": fuse_for_inference(model, x, pointwise_gemm=False,
                                                module_folds=False),
                "+ module folds": fuse_for_inference(model, x, pointwise_gemm=False),
                "+ 1x1 as products": fuse_for_inference(model, x)}
    as_conv, as_gemm = variants["+ module folds"], variants["+ 1x1 as products"]
    shapes = []
    for (shape, out_channels, stride), calls in pointwise_shapes(as_conv, x).items():
        conv = torch.nn.Conv2d(shape[1], out_channels, 1, stride)
        gemm = PointwiseGemmConv2d.from_conv(conv)
        inp = torch.randn(shape)
        steps = {f"{kind} {prec}": _infer(mod, (inp,), prec == "bf16")
                 for kind, mod in (("conv", conv), ("gemm", gemm)) for prec in ("bf16", "fp32")}
        ms = {k: 1000 * statistics.median(v) for k, v in measure(steps, 1, repeats,
                                                                 "cpu").items()}
        shapes.append({"input": list(shape), "out": out_channels, "stride": list(stride),
                       "calls": calls, "ms": ms})
    steps = {f"{kind} {prec}": _infer(mod, (x,), prec == "bf16")
             for kind, mod in variants.items() for prec in ("bf16", "fp32")}
    model_s = {k: statistics.median(v) for k, v in measure(steps, 2, repeats, "cpu").items()}
    return {"replaced": len(as_gemm.pointwise_gemm), "module_folds": len(as_gemm.module_folds),
            "shapes": shapes, "clips_per_s": {k: batch / v for k, v in model_s.items()}}


def _markdown(result: dict) -> str:
    lines = [f"# fuse_for_inference's rewrites beyond BatchNorm folding "
             f"({result['threads']} thread, batch {result['batch']}, NTU size; median of "
             f"{result['repeats']} runs, process CPU time)", "",
             f"Command: `{result['command']}`", "",
             f"Load average before / after: {result['loadavg']} (1 min, 2 cores).", "",
             "## Whole model (inference clips/s; in brackets: / BN folded)", "",
             "| model | precision | BN folded | + module folds | + 1x1 as products | "
             "module folds | 1x1 replaced |", "|---|---|---:|---:|---:|---:|---:|"]
    for name, row in result["models"].items():
        c = row["clips_per_s"]
        for prec in ("bf16", "fp32"):
            base = c[f"BN folded {prec}"]
            cells = [f"{base:.2f}"] + [f"{c[f'{k} {prec}']:.2f} ({c[f'{k} {prec}'] / base:.2f})"
                                       for k in ("+ module folds", "+ 1x1 as products")]
            lines.append(f"| {name} | {prec} | " + " | ".join(cells)
                         + f" | {row['module_folds']} | {row['replaced']} |")
    lines += ["", "## 1x1 convolutions per input shape: oneDNN convolution vs batched matrix "
              "product (ms per call; calls per forward)", "",
              "| model | input | out | stride | calls | bf16 conv | bf16 gemm | conv / gemm | "
              "fp32 conv | fp32 gemm | conv / gemm |",
              "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, row in result["models"].items():
        for s in row["shapes"]:
            ms = s["ms"]
            cells = []
            for prec in ("bf16", "fp32"):
                cells += [f"{ms[f'conv {prec}']:.3f}", f"{ms[f'gemm {prec}']:.3f}",
                          f"{ms[f'conv {prec}'] / ms[f'gemm {prec}']:.2f}"]
            lines.append(f"| {name} | {'x'.join(map(str, s['input']))} | {s['out']} | "
                         f"{'x'.join(map(str, s['stride']))} | {s['calls']} | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--models", nargs="+", default=list(ZOO_MODELS))
    parser.add_argument("--out", default=str(RESULTS / "inference_rewrites"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    init_default_scope("zoo")
    before = os.getloadavg()[0]
    models = {name: run_model(name, args.batch, args.repeats) for name in args.models}
    result = {"threads": 1, "batch": args.batch, "repeats": args.repeats, "torch":
              torch.__version__, "command": " ".join(
                  ["OMP_NUM_THREADS=1 uv run python benchmarks/inference_rewrites.py",
                   *(argv if argv is not None else sys.argv[1:])]),
              "loadavg": f"{before:.1f} / {os.getloadavg()[0]:.1f}", "models": models}
    atomic_write_text(args.out + ".json", json.dumps(result, indent=2))
    text = _markdown(result)
    atomic_write_text(args.out + ".md", text)
    print(text)
    return result


if __name__ == "__main__":
    main()
