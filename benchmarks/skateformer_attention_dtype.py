"""SkateFormer's window attention under bf16 autocast on the CPU: fp32 or bf16 fused kernel.

Skate-MSA's heads are 3-6 channels wide, so PyTorch's fused CPU attention
(``scaled_dot_product_attention``) spends its time on the score maps rather than on products.
This measures, on one thread, (1) the attention alone on every window shape of the NTU-size
model (``skeleton_speed.ZOO_MODELS['skateformer']``, batch 4, 64 frames), bf16 kernel vs the
zoo's fp32 path (the casts included), and (2) the whole fused model under bf16 autocast with
``SkateMSA.fp32_on_cpu`` on (the zoo's default) and off, interleaved repeat by repeat, with the
largest logit difference of each against the fp32 model.

Run: ``OMP_NUM_THREADS=1 uv run python benchmarks/skateformer_attention_dtype.py [--repeats 15]``
-> ``benchmarks/results/skateformer_attention_dtype.{json,md}``.
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope

sys.path.insert(0, str(Path(__file__).resolve().parent))
from skeleton_speed import FRAMES, JOINTS, PERSONS, ZOO_MODELS  # noqa: E402
from skeleton_speed_modes import measure  # noqa: E402
from zoo.models.skeleton.skateformer import SkateMSA  # noqa: E402

from zoo.deploy import fuse_for_inference  # noqa: E402
from zoo.fileio import atomic_write_bytes  # noqa: E402
from zoo.registry import MODELS  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results/skateformer_attention_dtype"


def window_calls(model, x) -> list[tuple[SkateMSA, torch.Tensor]]:
    """(module, bf16 windows) of every Skate-MSA call of one bf16 forward."""
    calls = []
    hooks = [m.register_forward_pre_hook(lambda mod, args: calls.append((mod, args[0].bfloat16())))
             for m in model.modules() if isinstance(m, SkateMSA)]
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        model(x)
    for h in hooks:
        h.remove()
    return calls


def bf16_kernel(msa: SkateMSA, windows: torch.Tensor):
    b, a, _ = windows.shape
    q, k, v = windows.reshape(b, a, 3, msa.num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
    with torch.no_grad():
        mask = msa.relative_bias().to(torch.bfloat16)

    def run():
        with torch.no_grad():
            F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                           scale=msa.num_heads ** -0.5)
    return run


def zoo_path(msa: SkateMSA, windows: torch.Tensor):
    def run():
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            msa(windows)
    return run


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args(argv)
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
        sec = measure({"bf16 kernel": bf16_kernel(msa, windows),
                       "fp32 kernel (zoo)": zoo_path(msa, windows)}, 2, args.repeats, "cpu")
        med = {k: statistics.median(v) * 1e3 for k, v in sec.items()}
        shapes.append(dict(shape=list(key), bf16_ms=round(med["bf16 kernel"], 3),
                           fp32_ms=round(med["fp32 kernel (zoo)"], 3),
                           speedup=round(med["bf16 kernel"] / med["fp32 kernel (zoo)"], 3)))
        print(shapes[-1], flush=True)

    with torch.no_grad():
        reference = fused(x)

    def forward(fp32_attention: bool):
        def run():
            SkateMSA.fp32_on_cpu = original if fp32_attention else (lambda self, t: False)
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
                return fused(x)
        return run

    original = SkateMSA.fp32_on_cpu
    try:
        diffs = {name: float((forward(on)().float() - reference).abs().max())
                 for name, on in (("fp32 attention (zoo)", True), ("bf16 attention", False))}
        sec = measure({"fp32 attention (zoo)": forward(True), "bf16 attention": forward(False)},
                      2, args.repeats, "cpu")
    finally:
        SkateMSA.fp32_on_cpu = original
    model_rows = {name: dict(clips_per_s=round(args.batch / statistics.median(s), 2),
                             max_logit_diff_vs_fp32=round(diffs[name], 5))
                  for name, s in sec.items()}
    ratio = model_rows["fp32 attention (zoo)"]["clips_per_s"] / \
        model_rows["bf16 attention"]["clips_per_s"]
    result = dict(batch=args.batch, frames=FRAMES, repeats=args.repeats, clock="cpu",
                  torch=torch.__version__, attention=shapes, model=model_rows,
                  model_speedup=round(ratio, 3))
    lines = [
        "# SkateFormer attention under bf16 autocast on the CPU: fp32 vs bf16 fused kernel",
        "",
        f"Command: `OMP_NUM_THREADS=1 uv run python benchmarks/skateformer_attention_dtype.py "
        f"--repeats {args.repeats}` (torch {torch.__version__}, 1 thread, batch {args.batch}, "
        f"{FRAMES} frames, median of {args.repeats} interleaved repeats, cpu clock)", "",
        "Attention alone (`scaled_dot_product_attention` with the relative-bias mask; the zoo's "
        "path includes its casts):", "",
        "| windows x heads x tokens x head dim | bf16 kernel (ms) | zoo fp32 path (ms) | "
        "speed-up |", "|---|---:|---:|---:|"]
    lines += [f"| {' x '.join(map(str, r['shape']))} | {r['bf16_ms']:.2f} | {r['fp32_ms']:.2f} "
              f"| {r['speedup']:.2f} |" for r in shapes]
    lines += ["", "Whole fused model under bf16 autocast:", "",
              "| attention | clips/s | max logit difference vs fp32 |", "|---|---:|---:|"]
    lines += [f"| {name} | {row['clips_per_s']:.2f} | {row['max_logit_diff_vs_fp32']:.5f} |"
              for name, row in model_rows.items()]
    lines += ["", f"Model speed-up of the fp32 attention: {ratio:.2f}x."]
    atomic_write_bytes(RESULTS.with_suffix(".json"), json.dumps(result, indent=1).encode())
    atomic_write_bytes(RESULTS.with_suffix(".md"), ("\n".join(lines) + "\n").encode())
    print("\n".join(lines))
    return result


if __name__ == "__main__":
    main()
