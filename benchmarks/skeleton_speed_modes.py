"""The zoo's fast modes (bf16 autocast, BatchNorm folding, onnxruntime) beside the official
skeleton modules in fp32 and under plain bf16 autocast, on this CPU.

For ST-GCN, CTR-GCN and SkateFormer at the NTU size (2 persons, 25 joints, 64 frames;
official SkateFormer: 24 joints) it times, interleaved repeat by repeat so that every mode sees
the same machine load:

* inference (eval, no grad): official fp32, official bf16 autocast, zoo fp32, zoo fused (BN
  folded), zoo bf16, zoo fused + bf16, zoo fused in onnxruntime (fp32; ``--no-onnx`` drops
  it), its int8 copy in onnxruntime (``--int8``), zoo fused + bf16 under ``torch.compile``
  (``--compile``), zoo bf16 under the ``--amp`` autocast (raw-coordinate layers and head in
  fp32);
* one SGD training step: official fp32 / bf16 autocast, zoo fp32 / bf16 (``BF16OptimWrapper``'s
  autocast: fp32 master weights, fp32 loss); with ``--stgcn-options fast_dropout
  channels_last`` the zoo's ST-GCN is built with those options on (as the official NTU
  config) and the same weights without them are timed beside it ('default options' rows: the
  A/B of the options); with ``--pointwise-gemm-train MODEL`` that model's training rows run
  its 1x1 convolutions as batched matrix products (``tools/train.py --pointwise-gemm``), the
  plain convolutions beside them.

It reports the median clips/s and the spread (min-max) of ``--repeats`` runs, the ratios of
the zoo's best mode to the official module in fp32 and under bf16, GFLOP/s reached against
the core's measured matmul peak, and the data pipeline's samples/s beside the model's
clips/s. Official modules are never vendored: give local clones as for
``benchmarks/skeleton_speed.py``::

    OMP_NUM_THREADS=1 nice -n 10 uv run benchmarks/skeleton_speed_modes.py --threads 1 \\
        --official stgcn=/src/st-gcn ctrgcn=/src/CTR-GCN skateformer=/src/SkateFormer

Writes ``benchmarks/results/skeleton_speed_modes.json`` and ``.md``.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from mmengine.registry import init_default_scope

sys.path.insert(0, str(Path(__file__).resolve().parent))
from skeleton_speed import (  # noqa: E402
    CLASSES,
    FRAMES,
    JOINTS,
    PERSONS,
    ZOO_MODELS,
    _gflops_per_clip,
    _official_builders,
    _official_inputs,
)

from zoo.deploy import fuse_for_inference  # noqa: E402
from zoo.fileio import atomic_write_bytes  # noqa: E402
from zoo.ops.pointwise_gemm import pointwise_as_gemm  # noqa: E402
from zoo.registry import MODELS  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def _autocast(bf16: bool):
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)


def _infer(model: torch.nn.Module, inputs: tuple, bf16: bool) -> Callable[[], None]:
    def run():
        with torch.no_grad(), _autocast(bf16):
            model(*inputs)
    return run


def _infer_amp(model: torch.nn.Module, inputs: tuple) -> Callable[[], None]:
    """Inference under the zoo's ``--amp`` autocast (raw-coordinate layers and head fp32)."""
    from zoo.engine.amp import bf16_autocast

    def run():
        with torch.no_grad(), bf16_autocast(model):
            model(*inputs)
    return run


def _train(model: torch.nn.Module, inputs: tuple, batch: int, bf16: bool
           ) -> Callable[[], None]:
    labels = torch.randint(0, CLASSES, (batch,))
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def run():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        with _autocast(bf16):
            loss = torch.nn.functional.cross_entropy(model(*inputs), labels)
        loss.backward()
        optimizer.step()
    return run


def _onnx(model: torch.nn.Module, x: torch.Tensor, threads: int, int8: bool = False
          ) -> Callable[[], None]:
    import onnxruntime as ort

    from zoo.deploy.onnx_export import export_onnx
    from zoo.deploy.quantize import quantize_onnx_int8

    path = Path(tempfile.mkdtemp(prefix="zoo_onnx_")) / "model.onnx"
    export_onnx(model, x, path)
    if int8:  # ranges from inputs drawn like x: this is a speed measurement (random weights);
        # agreement on a trained model: benchmarks/amp_agreement_msr.py
        gen = torch.Generator().manual_seed(1)
        calibration = [torch.randn(x.shape, generator=gen).numpy() for _ in range(4)]
        path = Path(quantize_onnx_int8(path, path.with_suffix(".int8.onnx"), calibration,
                                       min_agreement=0.0).path)
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x.numpy()}
    return lambda: session.run(None, feed)


def matmul_peak_gflops(dtype: torch.dtype, size: int = 1024, repeats: int = 5) -> float:
    """Best GFLOP/s of a ``size``-square matmul on this thread count: the practical peak of
    the core (MKL / oneDNN GEMM), against which the models' GFLOP/s are read."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        torch.mm(a, b)
        best = min(best, time.process_time() - start)
    return 2 * size ** 3 / best / 1e9


def pipeline_samples_per_s(n: int = 40) -> dict:
    """Samples/s of the zoo's skeleton training pipeline at the NTU size (synthetic actions,
    2 persons faked by the single-person generator's clips: 64 frames, 25 joints)."""
    from zoo.registry import DATASETS

    pipeline = [dict(type="PreNormalize3D", layout="ntu25"),
                dict(type="GenSkeFeat", layout="ntu25", feats=["j"]),
                dict(type="RandomRot", theta=0.2),
                dict(type="UniformSampleFrames", clip_len=FRAMES),
                dict(type="PoseDecode"),
                dict(type="FormatGCNInput", num_person=PERSONS),
                dict(type="PackSkeletonInputs")]
    dataset = DATASETS.build(dict(type="SyntheticSkeletonActions", split="train",
                                  num_per_class=4, seed=0, pipeline=pipeline))
    dataset[0]
    start = time.process_time()
    for i in range(n):
        dataset[i % len(dataset)]
    return {"samples_per_s": n / (time.process_time() - start), "pipeline": pipeline}


def measure(steps: dict[str, Callable[[], None]], warmup: int, repeats: int, clock: str
            ) -> dict[str, list[float]]:
    now = CLOCKS[clock]
    seconds: dict[str, list[float]] = {name: [] for name in steps}
    for r in range(warmup + repeats):
        for name, step in steps.items():
            start = now()
            step()
            if r >= warmup:
                seconds[name].append(now() - start)
    return seconds


def run_model(name: str, official: Callable[[], torch.nn.Module] | None, args) -> dict:
    torch.manual_seed(0)
    cfg = copy.deepcopy(ZOO_MODELS[name])
    options = args.stgcn_options if name == "stgcn" else []
    cfg["backbone"].update(dict.fromkeys(options, True))
    zoo = MODELS.build(cfg)
    x = torch.randn(args.batch, 1, PERSONS, FRAMES, JOINTS, 3)
    zoo.train()
    with torch.no_grad():  # BatchNorm statistics that folding must carry over
        zoo(x)
    zoo.eval()
    fused = fuse_for_inference(zoo, x)
    infer = {"zoo fp32": _infer(zoo, (x,), False), "zoo fused": _infer(fused, (x,), False),
             "zoo bf16": _infer(zoo, (x,), True), "zoo fused+bf16": _infer(fused, (x,), True),
             "zoo bf16 (--amp)": _infer_amp(zoo, (x,))}
    trained = zoo
    if name in args.pointwise_gemm_train:  # tools/train.py --pointwise-gemm, and its A/B
        trained = copy.deepcopy(zoo)
        pointwise_as_gemm(trained)
    train = {"zoo fp32": _train(trained, (x,), args.batch, False),
             "zoo bf16": _train(trained, (x,), args.batch, True)}
    if trained is not zoo:
        train["1x1 convolutions (no --pointwise-gemm) fp32"] = _train(zoo, (x,), args.batch,
                                                                      False)
        train["1x1 convolutions (no --pointwise-gemm) bf16"] = _train(zoo, (x,), args.batch,
                                                                      True)
    if options:  # the same weights without the options: their A/B
        cfg["backbone"].update(dict.fromkeys(options, False))
        twin = MODELS.build(cfg)
        twin.load_state_dict(zoo.state_dict())
        twin.eval()
        infer["default options fused+bf16"] = _infer(fuse_for_inference(twin, x), (x,), True)
        train["default options fp32"] = _train(twin, (x,), args.batch, False)
        train["default options bf16"] = _train(twin, (x,), args.batch, True)
    if args.onnx:
        infer["zoo onnxruntime"] = _onnx(zoo, x, args.threads)
    if name in args.int8:
        infer["zoo onnxruntime int8"] = _onnx(zoo, x, args.threads, int8=True)
    if args.compile:  # inductor's C++ backend; compiled outside the timed runs
        compiled = torch.compile(fused)
        _infer(compiled, (x,), True)()
        infer["zoo fused+bf16+compile"] = _infer(compiled, (x,), True)
    flops = {"zoo": _gflops_per_clip(zoo, (x,), args.batch)}
    if official is not None:
        ref = official()
        ref_inputs = _official_inputs(name, args.batch)
        infer["official fp32"] = _infer(ref, ref_inputs, False)
        infer["official bf16"] = _infer(ref, ref_inputs, True)
        train["official fp32"] = _train(ref, ref_inputs, args.batch, False)
        train["official bf16"] = _train(ref, ref_inputs, args.batch, True)
        flops["official"] = _gflops_per_clip(ref, ref_inputs, args.batch)
    out: dict = {"gflops_per_clip": flops, "fused_pairs": len(fused.fused_pairs)}
    for kind, steps in (("infer", infer), ("train", train)):
        seconds = measure(steps, args.warmup, args.repeats, args.clock)
        out[kind] = {mode: {"clips_per_s": args.batch / statistics.median(s),
                            "min": args.batch / max(s), "max": args.batch / min(s),
                            "seconds": s} for mode, s in seconds.items()}
    return out


def _best(modes: dict, int8: bool = False, plain_bf16: bool = True) -> tuple[str, float]:
    """The zoo's fastest mode: int8 rows only when ``int8``, bf16 rows under plain autocast
    only when ``plain_bf16`` (else only the ``--amp`` one); accuracy is checked elsewhere."""
    name = max((m for m in modes if m.startswith("zoo") and (int8 or "int8" not in m)
                and (plain_bf16 or "bf16" not in m or "--amp" in m)),
               key=lambda m: modes[m]["clips_per_s"])
    return name, modes[name]["clips_per_s"]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--models", nargs="+", default=list(ZOO_MODELS))
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu")
    parser.add_argument("--no-onnx", dest="onnx", action="store_false")
    parser.add_argument("--int8", nargs="*", default=[], metavar="MODEL",
                        help="time these models' int8 ONNX file (tools/deploy/export.py "
                             "--int8) in onnxruntime")
    parser.add_argument("--int8-counts", nargs="*", default=[], metavar="MODEL",
                        help="models whose int8 file may be the best mode: those that met "
                             "the 99.5 %% arg-max agreement on a trained model "
                             "(benchmarks/amp_agreement_msr.py); other int8 rows are shown "
                             "but not ranked")
    parser.add_argument("--plain-bf16-fails", nargs="*", default=[], metavar="MODEL",
                        help="models whose plain-autocast bf16 inference missed the 99.5 %% "
                             "arg-max agreement on a trained model "
                             "(benchmarks/amp_agreement_msr.py): their rows are shown, and "
                             "their best inference mode is chosen among the others")
    parser.add_argument("--compile", action="store_true",
                        help="add torch.compile of the fused model under bf16 (minutes)")
    parser.add_argument("--official", nargs="*", default=[], metavar="NAME=PATH")
    parser.add_argument("--stgcn-options", nargs="*", default=[],
                        choices=["fast_dropout", "channels_last"],
                        help="build the zoo's ST-GCN with these options on (as "
                             "configs/skeleton/stgcn_official_ntu60.py) and time the same "
                             "weights without them beside it ('default options' rows)")
    parser.add_argument("--pointwise-gemm-train", nargs="*", default=[], metavar="MODEL",
                        help="time these models' training step as tools/train.py "
                             "--pointwise-gemm runs it (1x1 convolutions as batched matrix "
                             "products) and the plain convolutions beside it")
    parser.add_argument("--out", default=str(RESULTS / "skeleton_speed_modes"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    init_default_scope("zoo")
    official = _official_builders(dict(item.split("=", 1) for item in args.official))
    load_before = os.getloadavg()
    result = {"machine": platform.processor() or platform.machine(), "torch": torch.__version__,
              "threads": args.threads, "batch": args.batch, "warmup": args.warmup,
              "repeats": args.repeats, "clock": args.clock, "command": " ".join(sys.argv),
              "peak_gflops": {"fp32": matmul_peak_gflops(torch.float32),
                              "bf16": matmul_peak_gflops(torch.bfloat16)},
              "pipeline": pipeline_samples_per_s(), "int8_counts": args.int8_counts,
              "stgcn_options": args.stgcn_options, "plain_bf16_fails": args.plain_bf16_fails,
              "pointwise_gemm_train": args.pointwise_gemm_train,
              "models": {}}
    for name in args.models:
        result["models"][name] = run_model(name, official.get(name), args)
        result["loadavg"] = f"{load_before[0]:.1f} / {os.getloadavg()[0]:.1f} (1 min)"
        result["cores"] = os.cpu_count()
        print(name, json.dumps({k: {m: round(v["clips_per_s"], 2) for m, v in d.items()}
                                for k, d in result["models"][name].items()
                                if k in ("infer", "train")}), flush=True)
        atomic_write_bytes(args.out + ".json", json.dumps(result, indent=2).encode())
        atomic_write_bytes(args.out + ".md", _markdown(result).encode())
    return result


def _markdown(result: dict) -> str:
    peak = result["peak_gflops"]
    lines = [f"# Skeleton backbones: the zoo's fast modes vs the official modules "
             f"({result['threads']} thread, batch {result['batch']}, NTU size; median of "
             f"{result['repeats']} runs, {result['clock']} clock)", "",
             f"Command: `{result['command']}`", "",
             f"Load average before / after the run: {result.get('loadavg', 'n/a')} on "
             f"{result.get('cores', 'n/a')} cores (above 1: other jobs shared the machine); "
             f"the modes were interleaved "
             f"repeat by repeat, and the {result['clock']} clock counts this process's CPU "
             f"time, so the ratios are comparable; the spread (min-max clips/s) is given.", ""]
    for kind, title in (("infer", "Inference"), ("train", "Training step (forward, backward, "
                                                           "SGD)")):
        lines += [f"## {title}", "", "| model | mode | clips/s (median) | min-max | "
                  "GFLOP/s | % of matmul peak |", "|---|---|---:|---:|---:|---:|"]
        for name, row in result["models"].items():
            for mode, v in row[kind].items():
                gf = row["gflops_per_clip"]["official" if mode.startswith("official")
                                            else "zoo"]
                factor = 3 if kind == "train" else 1  # backward ~ 2x forward
                rate = gf * factor * v["clips_per_s"]
                ref = peak["bf16" if "bf16" in mode else "fp32"]
                share = "–" if "int8" in mode else f"{100 * rate / ref:.0f}"  # no int8 peak
                lines.append(f"| {name} | {mode} | {v['clips_per_s']:.2f} | "
                             f"{v['min']:.2f}-{v['max']:.2f} | {rate:.1f} | {share} |")
        lines.append("")
    lines += ["## Ratios (zoo best mode / official)", "",
              "| model | infer: zoo best | vs official fp32 | vs official bf16 | "
              "train: zoo best | vs official fp32 | vs official bf16 |",
              "|---|---|---:|---:|---|---:|---:|"]
    for name, row in result["models"].items():
        cells = []
        for kind in ("infer", "train"):
            mode, best = _best(row[kind], name in result.get("int8_counts", ()),
                               kind == "train" or name not in result.get("plain_bf16_fails", ()))
            ratios = [f"{best / row[kind][o]['clips_per_s']:.2f}" if o in row[kind] else "n/a"
                      for o in ("official fp32", "official bf16")]
            cells += [mode, *ratios]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    if result.get("plain_bf16_fails"):
        lines += ["Inference under plain bf16 autocast (fused or not, compiled or not) ranks as "
                  "the best mode only for the models whose plain bf16 inference met the 99.5 % "
                  "arg-max agreement with fp32 on a trained MSR Action3D model "
                  "(`benchmarks/amp_agreement_msr.py`); not for "
                  f"{', '.join(result['plain_bf16_fails'])}, whose best is chosen among fp32, "
                  "onnxruntime and the `--amp` autocast (raw-coordinate layers and head in "
                  "fp32).", ""]
    if result.get("stgcn_options"):
        lines += [f"The zoo's ST-GCN rows are built with {', '.join(result['stgcn_options'])} "
                  "on (`configs/skeleton/stgcn_official_ntu60.py` turns on fast_dropout and "
                  "channels_last); the 'default options' rows are the same weights with them "
                  "off.", ""]
    if result.get("pointwise_gemm_train"):
        lines += [f"The zoo's training rows of {', '.join(result['pointwise_gemm_train'])} run "
                  "as `tools/train.py --pointwise-gemm` (1x1 convolutions as batched matrix "
                  "products, `zoo.engine.pointwise_gemm`); the '1x1 convolutions' rows are the "
                  "same weights with the convolutions.", ""]
    if any("zoo onnxruntime int8" in row["infer"] for row in result["models"].values()):
        lines += ["int8 rows rank as the best mode only for the models whose int8 file "
                  "met the 99.5 % arg-max agreement with fp32 on a trained MSR Action3D model "
                  f"(`benchmarks/amp_agreement_msr.py`): "
                  f"{', '.join(result.get('int8_counts') or ['none'])}.", ""]
    pipe = result["pipeline"]["samples_per_s"]
    fastest = max(r["train"][_best(r["train"])[0]]["clips_per_s"]
                  for r in result["models"].values())
    lines += [f"Data pipeline (the zoo's training transforms at the NTU size, one process): "
              f"{pipe:.0f} samples/s, against at most {fastest:.1f} training clips/s of the "
              "models above.", "",
              f"Peak: best of 5 {1024}x{1024} `torch.mm` on this thread count "
              f"(MKL / oneDNN): {peak['fp32']:.1f} GFLOP/s fp32, {peak['bf16']:.1f} GFLOP/s "
              f"bf16 (AVX-512 BF16; this CPU has no AMX). Model GFLOP/s = FLOPs per clip "
              f"(`torch.utils.flop_counter`, x3 for a training step) x clips/s. This measured "
              "peak is a practical one, not the hardware's: ST-GCN's convolutions exceed it in "
              "fp32 (over 100 % above), so read the column as relative use of the core.", "",
              "The zoo's bf16 modes here use plain `torch.autocast`, as the official rows, but "
              "'zoo bf16 (--amp)': the zoo's `bf16_autocast` (what `--amp` uses), which keeps "
              "the raw-coordinate layers and the head in fp32.", "",
              "Per-run seconds are in the .json."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
