"""SkateFormer's window attention on the CPU: PyTorch's fused kernel (bf16 or fp32) against
the zoo's compiled small-head kernel (``zoo.ops.small_head_attention``).

Skate-MSA's heads are 3-6 channels wide, so PyTorch's fused CPU attention
(``scaled_dot_product_attention``) spends its time on per-head overhead around the score maps
rather than on products. This measures, on one thread, (1) the attention alone on every
window shape of the NTU-size model (``skeleton_speed.ZOO_MODELS['skateformer']``, batch 4, 64
frames) under bf16 autocast: PyTorch's bf16 kernel, PyTorch's kernel in fp32 (the zoo's path
without the compiled kernel, its casts included) and the compiled kernel (bf16 in and out,
fp32 inside); (2) the whole fused model the same three ways under bf16 autocast and two ways
in fp32, interleaved repeat by repeat, with each mode's largest logit difference against the
fp32 model with PyTorch's attention.

Run: ``OMP_NUM_THREADS=1 uv run python benchmarks/skateformer_attention.py [--repeats 15]``
-> ``benchmarks/results/skateformer_attention.{json,md}``.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import statistics
import sys
from pathlib import Path

import torch
from mmengine.registry import init_default_scope

sys.path.insert(0, str(Path(__file__).resolve().parent))
from skeleton_speed import FRAMES, JOINTS, PERSONS, ZOO_MODELS  # noqa: E402
from skeleton_speed_modes import measure  # noqa: E402
from zoo.models.skeleton.skateformer import SkateMSA  # noqa: E402

from zoo.deploy import fuse_for_inference  # noqa: E402
from zoo.fileio import atomic_write_bytes  # noqa: E402
from zoo.ops.small_head_attention import available, disabled  # noqa: E402
from zoo.registry import MODELS  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results/skateformer_attention"
ATTENTION = ("PyTorch bf16", "PyTorch fp32", "compiled kernel")


@contextlib.contextmanager
def attention(kind: str):
    """Skate-MSA with one attention implementation (under bf16 autocast: PyTorch's kernel in
    bf16 or in fp32, or the compiled kernel; without autocast the first two are the same)."""
    fp32_on_cpu = SkateMSA.fp32_on_cpu
    if kind == "PyTorch bf16":
        SkateMSA.fp32_on_cpu = lambda self, x: False
    try:
        with contextlib.nullcontext() if kind == "compiled kernel" else disabled():
            yield
    finally:
        SkateMSA.fp32_on_cpu = fp32_on_cpu


def window_calls(model, x) -> list[tuple[SkateMSA, torch.Tensor]]:
    """(module, bf16 windows) of every Skate-MSA call of one bf16 forward."""
    calls = []
    hooks = [m.register_forward_pre_hook(lambda mod, args: calls.append((mod, args[0].bfloat16())))
             for m in model.modules() if isinstance(m, SkateMSA)]
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16), attention("PyTorch bf16"):
        model(x)
    for h in hooks:
        h.remove()
    return calls


def window_step(msa: SkateMSA, windows: torch.Tensor, kind: str):
    def run():
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16), attention(kind):
            msa(windows)
    return run


def model_step(model, x, kind: str, bf16: bool):
    def run():
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16), \
                attention(kind):
            return model(x)
    return run


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args(argv)
    if not available():
        raise SystemExit("the compiled small-head attention kernel is not available here "
                         "(no C++ compiler, or VSZOO_KERNELS=0)")
    torch.set_num_threads(1)
    init_default_scope("zoo")
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(ZOO_MODELS["skateformer"]))
    x = torch.randn(args.batch, 1, PERSONS, FRAMES, JOINTS, 3)
    model.train()
    with torch.no_grad():  # BatchNorm statistics for folding
        model(x)
    model.eval()
    fused = fuse_for_inference(model, x)

    shapes, seen = [], set()
    for msa, windows in window_calls(fused, x):
        b, a, c = windows.shape
        key = (b, msa.num_heads, a, c // 3 // msa.num_heads)
        if key in seen:
            continue
        seen.add(key)
        sec = measure({kind: window_step(msa, windows, kind) for kind in ATTENTION}, 2,
                      args.repeats, "cpu")
        ms = {k: round(statistics.median(v) * 1e3, 3) for k, v in sec.items()}
        shapes.append(dict(shape=list(key), ms=ms,
                           kernel_vs_fp32=round(ms["PyTorch fp32"] / ms["compiled kernel"], 3),
                           kernel_vs_bf16=round(ms["PyTorch bf16"] / ms["compiled kernel"], 3)))
        print(shapes[-1], flush=True)

    reference = model_step(fused, x, "PyTorch fp32", bf16=False)()
    modes = {f"bf16 autocast, {kind}": (kind, True) for kind in ATTENTION}
    modes.update({f"fp32, {kind}": (kind, False) for kind in ATTENTION[1:]})
    steps = {name: model_step(fused, x, kind, bf16) for name, (kind, bf16) in modes.items()}
    diffs = {name: float((step().float() - reference).abs().max()) for name, step in steps.items()}
    sec = measure(steps, 2, args.repeats, "cpu")
    model_rows = {name: dict(clips_per_s=round(args.batch / statistics.median(s), 2),
                             max_logit_diff_vs_fp32=round(diffs[name], 6))
                  for name, s in sec.items()}
    result = dict(batch=args.batch, frames=FRAMES, repeats=args.repeats, clock="cpu",
                  torch=torch.__version__, attention=shapes, model=model_rows)
    lines = [
        "# SkateFormer window attention on the CPU: PyTorch's fused kernel vs the compiled "
        "small-head kernel",
        "",
        f"Command: `OMP_NUM_THREADS=1 uv run python benchmarks/skateformer_attention.py "
        f"--repeats {args.repeats}` (torch {torch.__version__}, 1 thread, batch {args.batch}, "
        f"{FRAMES} frames, median of {args.repeats} interleaved repeats, cpu clock)", "",
        "Attention alone under bf16 autocast (bf16 windows in, bf16 out; `PyTorch fp32` is the "
        "zoo's path without the compiled kernel, its casts included):", "",
        "| windows x heads x tokens x head dim | PyTorch bf16 (ms) | PyTorch fp32 (ms) | "
        "compiled kernel (ms) | kernel speed-up vs fp32 / bf16 |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {' x '.join(map(str, r['shape']))} | {r['ms']['PyTorch bf16']:.2f} | "
              f"{r['ms']['PyTorch fp32']:.2f} | {r['ms']['compiled kernel']:.2f} | "
              f"{r['kernel_vs_fp32']:.2f} / {r['kernel_vs_bf16']:.2f} |" for r in shapes]
    lines += ["", "Whole fused model (difference against the fp32 model with PyTorch's "
              "attention):", "",
              "| precision, attention | clips/s | max logit difference vs fp32 |",
              "|---|---:|---:|"]
    lines += [f"| {name} | {row['clips_per_s']:.2f} | {row['max_logit_diff_vs_fp32']:.6f} |"
              for name, row in model_rows.items()]
    atomic_write_bytes(RESULTS.with_suffix(".json"), json.dumps(result, indent=1).encode())
    atomic_write_bytes(RESULTS.with_suffix(".md"), ("\n".join(lines) + "\n").encode())
    print("\n".join(lines))
    return result


if __name__ == "__main__":
    main()
