"""CTR-GCN fidelity figures: the converted official weights against the official logits.

``OMP_NUM_THREADS=1 uv run python benchmarks/ctrgcn_fidelity.py`` reads the reference fixtures
(``../shared/reference/ctrgcn_official_{ntu60,ucla}.pt``: random official weights, an input and
the official model's float32 logits), runs the zoo's CTR-GCN on them in float32 and float64, and
writes the largest absolute difference and that difference divided by the largest |logit| to
``benchmarks/results/ctrgcn_fidelity.{json,md}`` (the tolerance tests/skeleton/test_ctrgcn.py
asserts: 1e-4 of the scale in float32, 1e-5 in float64).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference"
OUT = REPO / "benchmarks" / "results" / "ctrgcn_fidelity"
# fixture -> (zoo layout, persons, classes)
FIXTURES = {"ntu60": ("ntu25", 2, 60), "ucla": ("kinect20", 1, 10)}


def measure(name: str) -> dict:
    from zoo.models.classifiers import SkeletonRecognizer

    from zoo.converters import convert_ctrgcn_official

    layout, persons, classes = FIXTURES[name]
    ref = torch.load(REFERENCE / f"ctrgcn_official_{name}.pt", weights_only=True)
    model = SkeletonRecognizer(
        backbone=dict(type="CTRGCN", graph_cfg=dict(layout=layout, mode="spatial"),
                      num_person=persons),
        cls_head=dict(type="GCNHead", in_channels=256, num_classes=classes))
    model.load_state_dict(convert_ctrgcn_official(ref["state_dict"]), strict=True)
    model.eval()
    (x,) = ref["inputs"]
    x = x.permute(0, 4, 2, 3, 1)  # N C T V M -> N M T V C
    target = ref["logits"].double()
    scale = float(target.abs().max())
    row = dict(fixture=f"ctrgcn_official_{name}.pt", logit_scale=scale)
    with torch.no_grad():
        for dtype, key in ((torch.float32, "float32"), (torch.float64, "float64")):
            out = model.to(dtype)(x.to(dtype)).double()
            diff = float((out - target).abs().max())
            row[key] = dict(max_abs_diff=round(diff, 2), relative=float(f"{diff / scale:.2g}"),
                            same_argmax=bool(torch.equal(out.argmax(1), target.argmax(1))))
    return row


def main() -> int:
    from mmengine.registry import init_default_scope

    from zoo.engine.atomic_io import atomic_write_bytes

    if not REFERENCE.is_dir():
        print(f"{REFERENCE} is absent: no fixtures to compare against", file=sys.stderr)
        return 1
    init_default_scope("zoo")
    torch.manual_seed(0)
    rows = [measure(name) for name in FIXTURES]
    payload = dict(command="OMP_NUM_THREADS=1 uv run python benchmarks/ctrgcn_fidelity.py",
                   torch_threads=torch.get_num_threads(), rows=rows)
    atomic_write_bytes(OUT.with_suffix(".json"), json.dumps(payload, indent=2).encode())
    lines = ["# CTR-GCN: zoo vs official logits (reference fixtures)", "",
             f"`{payload['command']}` (torch threads: {payload['torch_threads']}; float32 sums,"
             " and so the float32 differences, depend on the thread count)", "",
             "| fixture | logit scale | float32 max diff (relative) | float64 max diff "
             "(relative) | same arg-max |", "|---|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['fixture']} | {r['logit_scale']:.3g} | {r['float32']['max_abs_diff']}"
                     f" ({r['float32']['relative']}) | {r['float64']['max_abs_diff']} "
                     f"({r['float64']['relative']}) | "
                     f"{r['float32']['same_argmax'] and r['float64']['same_argmax']} |")
    atomic_write_bytes(OUT.with_suffix(".md"), ("\n".join(lines) + "\n").encode())
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
