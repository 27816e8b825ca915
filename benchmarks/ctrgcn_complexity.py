"""Parameters and FLOPs per sample of CTR-GCN at the official input sizes.

FLOPs are counted by ``zoo.analysis.complexity.count_flops`` (torch's ``FlopCounterMode``, as
``tools/analysis/complexity.py``: one multiply-add = 2 FLOPs; convolutions, matmuls and the
refinement einsums; BatchNorm, ReLU, tanh and pooling are not counted) for one sample in eval
mode. Results go to
``benchmarks/results/ctrgcn_complexity.{json,md}`` (written atomically).

    OMP_NUM_THREADS=1 uv run python benchmarks/ctrgcn_complexity.py
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from mmengine.registry import init_default_scope
from zoo.models.classifiers import SkeletonRecognizer

from zoo.analysis.complexity import count_flops, count_params
from zoo.fileio import atomic_write_text

# name -> (layout, persons, frames, classes); the official feeders resample NTU to 64 frames
# and NW-UCLA to 52 (Uason-Chen/CTR-GCN config/*/default.yaml window_size)
SETTINGS = {
    "ctrgcn_ntu60": ("ntu25", 2, 64, 60),
    "ctrgcn_ntu120": ("ntu25", 2, 64, 120),
    "ctrgcn_nwucla": ("kinect20", 1, 52, 10),
}
RESULTS = Path(__file__).resolve().parent / "results"


def measure(layout: str, persons: int, frames: int, classes: int) -> dict:
    model = SkeletonRecognizer(
        backbone=dict(type="CTRGCN", graph_cfg=dict(layout=layout, mode="spatial"),
                      num_person=persons),
        cls_head=dict(type="GCNHead", in_channels=256, num_classes=classes)).eval()
    joints = model.backbone.num_joints
    x = torch.randn(1, persons, frames, joints, 3)
    return dict(input=[1, persons, frames, joints, 3], params=count_params(model),
                gflops=count_flops(model, x) / 1e9)


def main() -> None:
    torch.set_num_threads(1)
    init_default_scope("zoo")
    results = {name: measure(*cfg) for name, cfg in SETTINGS.items()}
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / "ctrgcn_complexity.json", json.dumps(results, indent=2) + "\n")
    lines = ["| model | input [N, M, T, V, C] | params | GFLOPs / sample |", "|---|---|---|---|"]
    lines += [f"| {name} | {r['input']} | {r['params']:,} | {r['gflops']:.3f} |"
              for name, r in results.items()]
    atomic_write_text(RESULTS / "ctrgcn_complexity.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
