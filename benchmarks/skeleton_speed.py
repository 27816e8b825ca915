"""Throughput of every skeleton backbone on this CPU at the NTU input size, optionally beside
the official implementations.

For each zoo recogniser (backbone + head, NTU-60: 25 joints, 2 persons, 64 frames) it times
inference (eval, no grad) and one SGD training step (forward, backward, step) on a batch, and
reports clips/s as the median of ``--repeats`` timed runs after ``--warmup`` runs. Parameter
counts and FLOPs per clip (``torch.utils.flop_counter``) are recorded beside them.

Official modules are never vendored: give the path of a local clone to time them side by side
on the same input and thread count (the zoo/official ratio is then reported)::

    uv run benchmarks/skeleton_speed.py --threads 2 \
        --official stgcn=/src/st-gcn ctrgcn=/src/CTR-GCN skateformer=/src/SkateFormer

Writes ``benchmarks/results/skeleton_speed.json`` and ``.md``.
"""
from __future__ import annotations

import argparse
import importlib
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from mmengine.registry import init_default_scope
from torch.utils.flop_counter import FlopCounterMode

from zoo.engine.atomic_io import atomic_write_bytes
from zoo.registry import MODELS

RESULTS = Path(__file__).resolve().parent / "results"
FRAMES, JOINTS, PERSONS, CLASSES = 64, 25, 2, 60


def _recognizer(backbone: dict, in_channels: int) -> dict:
    return dict(type="SkeletonRecognizer", backbone=backbone,
                cls_head=dict(type="GCNHead", in_channels=in_channels, num_classes=CLASSES))


ZOO_MODELS: dict[str, dict] = {
    "stgcn": _recognizer(dict(type="STGCN", graph_cfg=dict(layout="ntu25",
                                                           mode="stgcn_spatial")), 256),
    "ctrgcn": _recognizer(dict(type="CTRGCN", graph_cfg=dict(layout="ntu25", mode="spatial")),
                          256),
    "skateformer": _recognizer(dict(type="SkateFormer", layout="ntu25", num_persons=2), 192),
}
PAPER = {  # parameters / FLOPs the papers or official READMEs give (None: not stated)
    "stgcn": {"params": 3_098_832, "note": "yysijie/st-gcn Model, 60 classes"},
    "ctrgcn": {"params": 1_446_672, "note": "Uason-Chen/CTR-GCN Model, 60 classes"},
    "skateformer": {"params": 3_616_083, "note": "SkateFormer README (NTU-60: 3.62M, 3.62G)"},
}


def _official_builders(paths: dict[str, str]) -> dict[str, Callable[[], torch.nn.Module]]:
    """Constructors of the official modules found under the given clone paths."""
    builders = {}
    if "stgcn" in paths:
        def stgcn():
            sys.path.insert(0, paths["stgcn"])
            module = importlib.import_module("net.st_gcn")
            return module.Model(in_channels=3, num_class=CLASSES, dropout=0.5,
                                edge_importance_weighting=True,
                                graph_args={"layout": "ntu-rgb+d", "strategy": "spatial"})
        builders["stgcn"] = stgcn
    if "ctrgcn" in paths:
        def ctrgcn():
            sys.path.insert(0, paths["ctrgcn"])
            module = importlib.import_module("model.ctrgcn")
            return module.Model(num_class=CLASSES, num_point=JOINTS, num_person=PERSONS,
                                graph="graph.ntu_rgb_d.Graph",
                                graph_args={"labeling_mode": "spatial"})
        builders["ctrgcn"] = ctrgcn
    if "skateformer" in paths:
        def skateformer():
            sys.path.insert(0, paths["skateformer"])
            module = importlib.import_module("model.SkateFormer")
            return module.SkateFormer_(num_classes=CLASSES, num_people=PERSONS, num_points=24,
                                       type_1_size=[8, 8], type_2_size=[8, 12],
                                       type_3_size=[8, 8], type_4_size=[8, 12], index_t=True)
        builders["skateformer"] = skateformer
    return builders


def _official_inputs(name: str, batch: int) -> tuple:
    x = torch.randn(batch, 3, FRAMES, 24 if name == "skateformer" else JOINTS, PERSONS)
    if name == "skateformer":
        return x, torch.linspace(-1, 1, FRAMES).expand(batch, FRAMES).contiguous()
    return (x,)


def _time(fn: Callable[[], object], warmup: int, repeats: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(model: torch.nn.Module, inputs: tuple, batch: int, warmup: int,
            repeats: int) -> dict:
    """Median clips/s for inference and for a training step, plus params and FLOPs/clip."""
    labels = torch.randint(0, CLASSES, (batch,))
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def infer():
        with torch.no_grad():
            model(*inputs)

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(*inputs), labels)
        loss.backward()
        optimizer.step()

    model.eval()
    infer_s = _time(infer, warmup, repeats)
    flops = FlopCounterMode(display=False)
    with flops:  # FlopCounterMode's module tracker needs autograd on (CTR-GCN passes params)
        model(*inputs)
    model.train()
    train_s = _time(train_step, warmup, repeats)
    return {"params": sum(p.numel() for p in model.parameters()),
            "gflops_per_clip": flops.get_total_flops() / batch / 1e9,
            "infer_clips_per_s": batch / infer_s, "train_clips_per_s": batch / train_s}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--models", nargs="+", default=list(ZOO_MODELS))
    parser.add_argument("--official", nargs="*", default=[], metavar="NAME=PATH",
                        help="local clones of the official repositories")
    parser.add_argument("--out", default=str(RESULTS / "skeleton_speed"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    init_default_scope("zoo")
    official = _official_builders(dict(item.split("=", 1) for item in args.official))
    rows = {}
    for name in args.models:
        torch.manual_seed(0)
        model = MODELS.build(ZOO_MODELS[name])
        x = torch.randn(args.batch, 1, PERSONS, FRAMES, JOINTS, 3)
        # The zoo's recogniser takes [N, clips, M, T, V, C]; time it as users call it.
        row = {"zoo": measure(model, (x,), args.batch, args.warmup, args.repeats),
               "paper": PAPER[name]}
        if name in official:
            ref = official[name]()
            row["official"] = measure(ref, _official_inputs(name, args.batch), args.batch,
                                      args.warmup, args.repeats)
            for key in ("infer_clips_per_s", "train_clips_per_s"):
                row[f"ratio_{key}"] = row["zoo"][key] / row["official"][key]
        rows[name] = row
        print(name, json.dumps(row), flush=True)
    result = {"machine": platform.processor() or platform.machine(), "torch": torch.__version__,
              "threads": args.threads, "batch": args.batch, "input": "NTU: 2 persons, 25 "
              "joints, 64 frames (SkateFormer official: 24 joints)", "warmup": args.warmup,
              "repeats": args.repeats, "models": rows}
    atomic_write_bytes(args.out + ".json", json.dumps(result, indent=2).encode())
    atomic_write_bytes(args.out + ".md", _markdown(result).encode())
    return result


def _markdown(result: dict) -> str:
    lines = [f"# Skeleton backbones on this CPU ({result['threads']} threads, batch "
             f"{result['batch']}, {result['input']}; median of {result['repeats']} runs)", "",
             "| model | params | official params | GFLOPs/clip | infer clips/s | train clips/s |"
             " zoo/official infer | zoo/official train |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, row in result["models"].items():
        zoo = row["zoo"]
        ratio = [f"{row[k]:.2f}" if k in row else "n/a"
                 for k in ("ratio_infer_clips_per_s", "ratio_train_clips_per_s")]
        lines.append(f"| {name} | {zoo['params']:,} | {row['paper']['params']:,} | "
                     f"{zoo['gflops_per_clip']:.2f} | {zoo['infer_clips_per_s']:.1f} | "
                     f"{zoo['train_clips_per_s']:.1f} | {ratio[0]} | {ratio[1]} |")
    lines += ["", "n/a: the official module was not given with --official (never vendored)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
