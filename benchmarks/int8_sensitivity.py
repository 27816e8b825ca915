"""Which blocks of a trained recogniser lose the fp32 arg-max when quantised to int8?

The standard per-layer sensitivity analysis of post-training quantisation: quantise one group
of ONNX nodes at a time (a backbone block, by ``--group`` on the node names), everything else
fp32, and count the sequences whose arg-max changes; then the whole int8 file and the whole file
without the worst groups. Scored on held-out training sequences — the training split read with
the test pipeline minus the ``--calib-samples`` used to set the int8 ranges — so that choosing
what to keep fp32 never looks at the test split.

Run: ``OMP_NUM_THREADS=1 uv run python benchmarks/int8_sensitivity.py CONFIG CKPT --name N``.
Writes ``benchmarks/results/<name>.{json,md}``.
"""
from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path

import numpy as np
import torch

from zoo.fileio import atomic_write_text

REPO = Path(__file__).resolve().parents[1]


def split_calibration(samples: list[np.ndarray], calib: int
                      ) -> tuple[list[np.ndarray], np.ndarray]:
    """The ``calib`` samples the int8 export would calibrate on (evenly spread), and the
    others concatenated as hold-out."""
    from zoo.deploy.export_tool import evenly_spread

    picks = evenly_spread(len(samples), calib)
    held = np.setdiff1d(np.arange(len(samples)), picks)
    if not len(held):
        raise ValueError(f"{len(samples)} training samples leave none beside the "
                         f"{calib} calibration samples")
    return [samples[i] for i in picks], np.concatenate([samples[i] for i in held])


def node_groups(path: str | Path, pattern: str) -> list[str]:
    """The distinct matches of ``pattern`` among the ONNX file's node names, in graph order."""
    import onnx

    found = [m.group(0) for node in onnx.load(str(path)).graph.node
             if (m := re.search(pattern, node.name))]
    return list(dict.fromkeys(found))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("--group", default=r"/backbone/layers\.\d+/",
                        help="regular expression whose matches on node names form the groups")
    parser.add_argument("--calib-samples", type=int, default=64)
    parser.add_argument("--worst", type=int, default=2,
                        help="also score the int8 file with this many worst groups kept fp32")
    parser.add_argument("--out", default=str(REPO / "benchmarks/results"))
    parser.add_argument("--name", default="int8_sensitivity")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from mmengine.registry import init_default_scope

    from zoo.apis import init_model
    from zoo.deploy.export_tool import calibration_from_train_set
    from zoo.deploy.onnx_export import export_onnx, onnxruntime_logits
    from zoo.deploy.quantize import quantize_onnx_int8

    init_default_scope("zoo")
    model = init_model(args.config, args.checkpoint).eval()
    train = calibration_from_train_set(model.cfg, args.config, 10 ** 9)  # the whole split
    calibration, held = split_calibration(train, args.calib_samples)
    rows = {}
    with tempfile.TemporaryDirectory(prefix="zoo_int8_sens_") as tmp:
        fp32_path, int8_path = Path(tmp) / "model.onnx", Path(tmp) / "model.int8.onnx"
        export_onnx(model, torch.from_numpy(train[0]), fp32_path)
        ref = onnxruntime_logits(fp32_path, held).argmax(1)
        groups = node_groups(fp32_path, args.group)
        if not groups:
            raise ValueError(f"{args.config}: no ONNX node name matches --group {args.group!r}")

        def flips(fp32_nodes: list[str]) -> int:
            quantize_onnx_int8(fp32_path, int8_path, calibration, min_agreement=0.0,
                               fp32_nodes=fp32_nodes)
            return int((onnxruntime_logits(int8_path, held).argmax(1) != ref).sum())

        for g in groups:  # only g quantised (the nodes outside every group stay fp32 too)
            rows[f"only {g} int8"] = flips([f"^(?!.*{re.escape(g)})"])
        rows["every group int8 (the default file)"] = flips([])
        worst = sorted(groups, key=lambda g: -rows[f"only {g} int8"])[:args.worst]
        if worst:
            rows[f"int8 but {', '.join(worst)} fp32"] = flips([re.escape(g) for g in worst])
    results = dict(
        command=f"OMP_NUM_THREADS=1 uv run python benchmarks/int8_sensitivity.py {args.config} "
                f"{args.checkpoint} --group '{args.group}' --calib-samples "
                f"{args.calib_samples} --worst {args.worst} --name {args.name}",
        backbone=model.cfg.model.backbone.type, held_out=len(held),
        calibration=len(calibration), rows=rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / f"{args.name}.json", json.dumps(results, indent=2))
    lines = [f"# int8 sensitivity per block, trained {results['backbone']}", "",
             f"Command: `{results['command']}`", "",
             f"{len(held)} held-out training sequences (the training split read with the test "
             f"pipeline, minus the {len(calibration)} calibration sequences); a flip is a "
             f"sequence whose int8 arg-max differs from the fp32 file's.", "",
             "| quantised | flips | agreement (%) |", "|---|---:|---:|"]
    lines += [f"| {k} | {v} | {100 * (1 - v / len(held)):.1f} |" for k, v in rows.items()]
    atomic_write_text(out / f"{args.name}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return results


if __name__ == "__main__":
    main()
