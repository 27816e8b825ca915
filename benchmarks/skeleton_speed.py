"""Throughput of every skeleton backbone on this CPU at the NTU input size, optionally beside
the official implementations.

For each zoo recogniser (backbone + head, NTU-60: 25 joints, 2 persons, 64 frames) it times
inference (eval, no grad) and one SGD training step (forward, backward, step) on a batch, and
reports clips/s as the median of ``--repeats`` timed runs after ``--warmup`` runs. Parameter
counts and FLOPs per clip (``zoo.analysis.complexity.count_flops``, as
``tools/analysis/complexity.py``) are recorded beside them.

Official modules are never vendored: give the path of a local clone to time them side by side
on the same input and thread count (the zoo/official ratio is then reported)::

    uv run benchmarks/skeleton_speed.py --threads 2 \
        --official stgcn=/src/st-gcn ctrgcn=/src/CTR-GCN skateformer=/src/SkateFormer

Writes ``benchmarks/results/skeleton_speed.json`` and ``.md``.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from mmengine.registry import init_default_scope

from zoo.analysis.complexity import count_flops
from zoo.fileio import atomic_write_bytes
from zoo.registry import MODELS

RESULTS = Path(__file__).resolve().parent / "results"
FRAMES, JOINTS, PERSONS, CLASSES = 64, 25, 2, 60


def _recognizer(backbone: dict, in_channels: int) -> dict:
    return dict(type="SkeletonRecognizer", backbone=backbone,
                cls_head=dict(type="GCNHead", in_channels=in_channels, num_classes=CLASSES))


ZOO_MODELS: dict[str, dict] = {
    "stgcn": _recognizer(dict(type="STGCN", graph_cfg=dict(layout="ntu25",
                                                           mode="stgcn_spatial"),
                              dropout=0.5), 256),  # dropout as the official NTU config
    "ctrgcn": _recognizer(dict(type="CTRGCN", graph_cfg=dict(layout="ntu25", mode="spatial")),
                          256),
    "skateformer": _recognizer(dict(type="SkateFormer", layout="ntu25", num_persons=2), 192),
}
PAPER = {  # parameters / FLOPs the papers or official READMEs give (None: not stated)
    "stgcn": {"params": 3_098_832, "note": "yysijie/st-gcn Model, 60 classes"},
    "ctrgcn": {"params": 1_446_672, "note": "Uason-Chen/CTR-GCN Model, 60 classes"},
    "skateformer": {"params": 3_616_083, "note": "SkateFormer README (NTU-60: 3.62M, 3.62G)"},
}


# top-level packages each official clone provides (CTR-GCN and SkateFormer both call theirs
# ``model``, so one clone's modules must be forgotten before importing from the next)
_CLONE_PACKAGES = {"stgcn": ("net",), "ctrgcn": ("model", "graph"), "skateformer": ("model",)}


@contextlib.contextmanager
def _clone_on_path(name: str, path: str):
    """Import from the clone at ``path`` only: it goes first on ``sys.path`` and modules of the
    same top-level names imported earlier (from another clone) are dropped."""
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"--official {name}={path}: no such directory")
    for module in list(sys.modules):
        if module.split(".")[0] in _CLONE_PACKAGES[name]:
            del sys.modules[module]
    sys.path.insert(0, str(root))
    try:
        yield root
    finally:
        sys.path.remove(str(root))


def _import_from(root: Path, module_name: str, name: str):
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(f"--official {name}={root}: cannot import {module_name} ({exc})") from exc
    if not Path(module.__file__).resolve().is_relative_to(root):
        raise ImportError(f"--official {name}={root}: {module_name} was imported from "
                          f"{module.__file__}, not from the clone")
    return module


def _official_builders(paths: dict[str, str]) -> dict[str, Callable[[], torch.nn.Module]]:
    """Constructors of the official modules found under the given clone paths."""
    unknown = set(paths) - set(_CLONE_PACKAGES)
    if unknown:
        raise ValueError(f"--official: unknown model(s) {sorted(unknown)}; use "
                         f"{sorted(_CLONE_PACKAGES)}")

    def stgcn():
        with _clone_on_path("stgcn", paths["stgcn"]) as root:
            module = _import_from(root, "net.st_gcn", "stgcn")
            return module.Model(in_channels=3, num_class=CLASSES, dropout=0.5,
                                edge_importance_weighting=True,
                                graph_args={"layout": "ntu-rgb+d", "strategy": "spatial"})

    def ctrgcn():
        with _clone_on_path("ctrgcn", paths["ctrgcn"]) as root:
            module = _import_from(root, "model.ctrgcn", "ctrgcn")
            return module.Model(num_class=CLASSES, num_point=JOINTS, num_person=PERSONS,
                                graph="graph.ntu_rgb_d.Graph",
                                graph_args={"labeling_mode": "spatial"})

    def skateformer():
        with _clone_on_path("skateformer", paths["skateformer"]) as root:
            module = _import_from(root, "model.SkateFormer", "skateformer")
            # attn_drop / drop_path as the zoo's defaults (the official configs' 0.5 / 0.2;
            # the class defaults are 0), so the training steps do the same work
            return module.SkateFormer_(num_classes=CLASSES, num_people=PERSONS, num_points=24,
                                       type_1_size=[8, 8], type_2_size=[8, 12],
                                       type_3_size=[8, 8], type_4_size=[8, 12], index_t=True,
                                       attn_drop=0.5, drop_path=0.2)

    builders = {"stgcn": stgcn, "ctrgcn": ctrgcn, "skateformer": skateformer}
    return {name: builders[name] for name in paths}


def _official_inputs(name: str, batch: int) -> tuple:
    x = torch.randn(batch, 3, FRAMES, 24 if name == "skateformer" else JOINTS, PERSONS)
    if name == "skateformer":
        return x, torch.linspace(-1, 1, FRAMES).expand(batch, FRAMES).contiguous()
    return (x,)


def _steps(model: torch.nn.Module, inputs: tuple, batch: int) -> dict[str, Callable[[], None]]:
    """The two timed operations: inference (eval, no grad) and one SGD training step."""
    labels = torch.randint(0, CLASSES, (batch,))
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def infer():
        model.eval()
        with torch.no_grad():
            model(*inputs)

    def train_step():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(*inputs), labels)
        loss.backward()
        optimizer.step()

    return {"infer": infer, "train": train_step}


def _gflops_per_clip(model: torch.nn.Module, inputs: tuple, batch: int) -> float:
    model.eval()
    return count_flops(model, *inputs) / batch / 1e9


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def measure(models: dict[str, tuple[torch.nn.Module, tuple]], batch: int, warmup: int,
            repeats: int, clock: str = "wall") -> dict[str, dict]:
    """Median clips/s for inference and for a training step of each model, plus params and
    FLOPs/clip. The models' runs are interleaved (repeat r of every model before repeat r+1),
    so that a change of load on a shared machine affects all of them alike. ``clock='cpu'``
    times the CPU seconds of this process instead of wall-clock seconds (with one thread, the
    compute cost without the time the scheduler gives to other processes)."""
    now = CLOCKS[clock]
    steps = {name: _steps(model, inputs, batch) for name, (model, inputs) in models.items()}
    seconds = {name: {"infer": [], "train": []} for name in models}
    for r in range(warmup + repeats):
        for kind in ("infer", "train"):
            for name in models:
                start = now()
                steps[name][kind]()
                if r >= warmup:
                    seconds[name][kind].append(now() - start)
    out = {}
    for name, (model, inputs) in models.items():
        infer_s, train_s = (statistics.median(seconds[name][k]) for k in ("infer", "train"))
        out[name] = {"params": sum(p.numel() for p in model.parameters()),
                     "gflops_per_clip": _gflops_per_clip(model, inputs, batch),
                     "infer_clips_per_s": batch / infer_s, "train_clips_per_s": batch / train_s,
                     "infer_seconds": seconds[name]["infer"],
                     "train_seconds": seconds[name]["train"]}
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--models", nargs="+", default=list(ZOO_MODELS))
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall-clock or process CPU seconds (use cpu on a shared machine)")
    parser.add_argument("--official", nargs="*", default=[], metavar="NAME=PATH",
                        help="local clones of the official repositories")
    parser.add_argument("--out", default=str(RESULTS / "skeleton_speed"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    init_default_scope("zoo")
    official = _official_builders(dict(item.split("=", 1) for item in args.official))
    rows: dict[str, dict] = {}
    result: dict = {}
    load_before = os.getloadavg()
    for name in args.models:
        torch.manual_seed(0)
        model = MODELS.build(ZOO_MODELS[name])
        x = torch.randn(args.batch, 1, PERSONS, FRAMES, JOINTS, 3)
        # The zoo's recogniser takes [N, clips, M, T, V, C]; time it as users call it.
        timed = {"zoo": (model, (x,))}
        if name in official:
            timed["official"] = (official[name](), _official_inputs(name, args.batch))
        row = {**measure(timed, args.batch, args.warmup, args.repeats, args.clock),
               "paper": PAPER[name]}
        if "official" in row:
            for key in ("infer_clips_per_s", "train_clips_per_s"):
                row[f"ratio_{key}"] = row["zoo"][key] / row["official"][key]
        rows[name] = row
        print(name, json.dumps(row), flush=True)
        # written after every model, so that an interrupted run keeps what it measured
        result = {"machine": platform.processor() or platform.machine(),
                  "torch": torch.__version__, "threads": args.threads, "batch": args.batch,
                  "input": "NTU: 2 persons, 25 joints, 64 frames (SkateFormer official: 24 "
                  "joints)", "warmup": args.warmup, "repeats": args.repeats,
                  "clock": args.clock, "command": " ".join(sys.argv),
                  "loadavg": f"{load_before[0]:.1f} / {os.getloadavg()[0]:.1f} (1 min)",
                  "complete": len(rows) == len(args.models), "models": rows}
        atomic_write_bytes(args.out + ".json", json.dumps(result, indent=2).encode())
        atomic_write_bytes(args.out + ".md", _markdown(result).encode())
    return result


def _markdown(result: dict) -> str:
    lines = [f"# Skeleton backbones on this CPU ({result['threads']} threads, batch "
             f"{result['batch']}, {result['input']}; median of {result['repeats']} runs, "
             f"{result.get('clock', 'wall')} clock)", "",
             f"Load average before / after the run: {result.get('loadavg', 'n/a')}.", "",
             "| model | params | official params | GFLOPs/clip | infer clips/s (zoo / official)"
             " | train clips/s (zoo / official) | zoo/official infer | zoo/official train |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, row in result["models"].items():
        zoo, off = row["zoo"], row.get("official")
        ratio = [f"{row[k]:.2f}" if k in row else "n/a"
                 for k in ("ratio_infer_clips_per_s", "ratio_train_clips_per_s")]
        speed = [f"{zoo[k]:.2f}" + (f" / {off[k]:.2f}" if off else "")
                 for k in ("infer_clips_per_s", "train_clips_per_s")]
        lines.append(f"| {name} | {zoo['params']:,} | {row['paper']['params']:,} | "
                     f"{zoo['gflops_per_clip']:.2f} | {speed[0]} | {speed[1]} | {ratio[0]} | "
                     f"{ratio[1]} |")
    if not result.get("complete", True):
        lines += ["", "The run was interrupted: the models missing above were not measured."]
    lines += ["", "n/a: the official module was not given with --official (never vendored). "
              "Zoo and official runs are interleaved repeat by repeat, so both see the same "
              "machine load; the per-run seconds are in the .json."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
