"""The inference choices measured before keeping or dropping them (issue 21): channels-last
activations, the contraction order of ST-GCN's graph aggregation, and ``torch.compile``,
each in fp32 and under bf16 autocast, on the zoo's ST-GCN and CTR-GCN at the NTU size.

Each choice is timed against the default, interleaved repeat by repeat (process CPU time,
1 thread): the median seconds per batch and their ratio are written to
``benchmarks/results/skeleton_speed_choices.{json,md}``::

    OMP_NUM_THREADS=1 nice -n 10 uv run benchmarks/skeleton_speed_choices.py
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from mmengine.registry import init_default_scope

sys.path.insert(0, str(Path(__file__).resolve().parent))
from skeleton_speed import FRAMES, JOINTS, PERSONS, ZOO_MODELS  # noqa: E402

from zoo.fileio import atomic_write_bytes  # noqa: E402
from zoo.registry import MODELS  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def _time(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    for fn in fns.values():
        fn()
    seconds: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.process_time()
            fn()
            seconds[name].append(time.process_time() - start)
    return {k: statistics.median(v) for k, v in seconds.items()}


def _run(model, x, bf16):
    def fn():
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return model(x)
    return fn


def channels_last(name: str, batch: int, repeats: int) -> dict:
    """Each block's input made channels-last (weights too), against the default layout."""
    import zoo.models.skeleton.ctrgcn as ctrgcn
    import zoo.models.skeleton.stgcn as stgcn

    block = {"stgcn": stgcn.STGCNBlock, "ctrgcn": ctrgcn.CTRGCNBlock}[name]
    torch.manual_seed(0)
    model = MODELS.build(ZOO_MODELS[name]).eval()
    x = torch.randn(batch, 1, PERSONS, FRAMES, JOINTS, 3)
    default = block.forward

    def last(self, inp, *args):
        return default(self, inp.contiguous(memory_format=torch.channels_last), *args)

    out = {}
    for bf16 in (False, True):
        def with_layout(forward, fmt, bf16=bf16):
            def fn():
                block.forward = forward
                model.to(memory_format=fmt)
                try:
                    return _run(model, x, bf16)()
                finally:
                    block.forward = default
                    model.to(memory_format=torch.contiguous_format)
            return fn
        t = _time({"default": with_layout(default, torch.contiguous_format),
                   "channels_last": with_layout(last, torch.channels_last)}, repeats)
        out["bf16" if bf16 else "fp32"] = t
    return out


def graph_orders(batch: int, repeats: int) -> dict:
    """ST-GCN's ``sum_k X_k A_k`` at a 64-channel block: the einsum the model uses, an
    explicit permute + matmul, and aggregating the input before the 1x1 conv (PYSKL's
    'pre' order: K x C_in channels aggregated instead of K x C_out)."""
    torch.manual_seed(0)
    n, c_in, c_out, k, t, v = batch * PERSONS, 64, 64, 3, FRAMES, JOINTS
    x = torch.randn(n, c_in, t, v)
    conv = torch.nn.Conv2d(c_in, c_out * k, 1)
    a = torch.rand(k, v, v)

    def einsum():
        y = conv(x).view(n, k, c_out, t, v)
        return torch.einsum("nkctv,kvw->nctw", y, a)

    def matmul():
        y = conv(x).view(n, k, c_out, t, v).permute(0, 2, 3, 1, 4).reshape(n, c_out, t, k * v)
        return y @ a.reshape(k * v, v)

    weight = conv.weight.view(k, c_out, c_in)
    bias_term = torch.einsum("kc,kvw->cw", conv.bias.view(k, c_out), a)[None, :, None]

    def pre():
        xa = torch.einsum("nctv,kvw->nkctw", x, a).reshape(n, k * c_in, t, v)
        w = weight.permute(1, 0, 2).reshape(c_out, k * c_in, 1, 1)
        return torch.nn.functional.conv2d(xa, w) + bias_term

    with torch.no_grad():
        ref = einsum()
        errors = {f.__name__: float((f() - ref).abs().max() / ref.abs().max())
                  for f in (matmul, pre)}
    out = {}
    for bf16 in (False, True):
        def wrap(f, bf16=bf16):
            def fn():
                with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    return f()
            return fn
        out["bf16" if bf16 else "fp32"] = _time(
            {"einsum": wrap(einsum), "matmul": wrap(matmul), "pre": wrap(pre)}, repeats)
    out["relative_error_vs_einsum"] = errors
    return out


def compiled(name: str, batch: int, repeats: int) -> dict:
    """``torch.compile`` (inductor, C++ backend) against eager, with its compile time."""
    torch.manual_seed(0)
    model = MODELS.build(ZOO_MODELS[name]).eval()
    x = torch.randn(batch, 1, PERSONS, FRAMES, JOINTS, 3)
    fast = torch.compile(model)
    out = {}
    for bf16 in (False, True):
        start = time.perf_counter()
        _run(fast, x, bf16)()
        compile_s = time.perf_counter() - start
        t = _time({"eager": _run(model, x, bf16), "compiled": _run(fast, x, bf16)}, repeats)
        out["bf16" if bf16 else "fp32"] = {**t, "compile_wall_s": compile_s}
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-compile", dest="compile", action="store_false")
    parser.add_argument("--out", default=str(RESULTS / "skeleton_speed_choices"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    init_default_scope("zoo")
    load = os.getloadavg()[0]
    result = {"command": " ".join(sys.argv), "batch": args.batch, "repeats": args.repeats,
              "threads": 1, "channels_last": {n: channels_last(n, args.batch, args.repeats)
                                              for n in ("stgcn", "ctrgcn")},
              "graph_order": graph_orders(args.batch, args.repeats)}
    if args.compile:
        result["compile"] = {"stgcn": compiled("stgcn", args.batch, args.repeats)}
    result["loadavg"] = f"{load:.1f} / {os.getloadavg()[0]:.1f}"
    atomic_write_bytes(args.out + ".json", json.dumps(result, indent=2).encode())
    atomic_write_bytes(args.out + ".md", _markdown(result).encode())
    print(json.dumps(result, indent=1))
    return result


def _markdown(r: dict) -> str:
    lines = [f"# Inference choices on this CPU (1 thread, batch {r['batch']}, NTU size; median "
             f"of {r['repeats']} runs, process CPU seconds per batch)", "",
             f"Command: `{r['command']}`. The machine was shared with other jobs (load average "
             f"{r['loadavg']} on 2 cores); the variants were interleaved run by run.", "",
             "| choice | model | precision | default s | variant s | variant / default "
             "| >= 3 % faster |",
             "|---|---|---|---:|---:|---:|---|"]
    for name, row in r["channels_last"].items():
        for prec, t in row.items():
            ratio = t["channels_last"] / t["default"]
            lines.append(f"| channels-last | {name} | {prec} | {t['default']:.4f} | "
                         f"{t['channels_last']:.4f} | {ratio:.2f} | "
                         f"{'yes' if ratio < 0.97 else 'no'} |")
    for prec in ("fp32", "bf16"):
        t = r["graph_order"][prec]
        for variant in ("matmul", "pre"):
            ratio = t[variant] / t["einsum"]
            lines.append(f"| graph order: {variant} vs einsum (one 64-ch block) | stgcn | {prec} "
                         f"| {t['einsum']:.4f} | {t[variant]:.4f} | {ratio:.2f} | "
                         f"{'yes' if ratio < 0.97 else 'no'} |")
    for name, row in r.get("compile", {}).items():
        for prec, t in row.items():
            ratio = t["compiled"] / t["eager"]
            lines.append(f"| torch.compile (compile {t['compile_wall_s']:.0f} s wall) | {name} | "
                         f"{prec} | {t['eager']:.4f} | {t['compiled']:.4f} | {ratio:.2f} | "
                         f"{'yes' if ratio < 0.97 else 'no'} |")
    err = r["graph_order"]["relative_error_vs_einsum"]
    lines += ["", "Graph orders agree with the einsum to "
              f"{max(err.values()):.1e} (relative). What the zoo adopted is said in "
              "docs/speed.md."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
