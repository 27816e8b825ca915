"""Mean ± std over training seeds of HealthiVert-GAN benchmark results, ablation rows and drift.

Example (after ``benchmarks/healthivert_phantom.py`` wrote one JSON per run)::

    uv run benchmarks/healthivert_summary.py \
        --row "full model" hv_s0.json hv_s1.json hv_s2.json \
        --row "without HGAM" hv_noheat.json --row "without position channel" hv_nopos.json \
        --drift "full model" hv_s0_prev.json hv_s1_prev.json hv_s2_prev.json \
        --work-dirs work_dirs/hv_s0 work_dirs/hv_s1 work_dirs/hv_s2 \
        --out benchmarks/results/healthivert_issue25

Per row: grading accuracy and macro-F1 (5-fold linear SVM on synthesised RHLV), RHLV Pearson r,
height MAE / bias (mm). ``--drift`` pairs each seed's validation-selected result with its last
checkpoint's (same order as the row); ``--work-dirs`` adds the validation curve of each run.
The command is recorded in the output.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys

import numpy as np

from zoo.fileio import atomic_write_bytes

MEASURES = (("grading accuracy", lambda r: r["grading_syn"]["accuracy"]),
            ("grading macro-F1", lambda r: r["grading_syn"]["macro_f1"]),
            ("RHLV Pearson r", lambda r: r["rhlv_pearson_r_syn"]),
            ("height MAE (mm)", lambda r: r["synthesis"]["height_mae_mm"]),
            ("height bias (mm)", lambda r: r["height_bias_mm"]))


def _load(path: str) -> dict:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: benchmark result does not exist")
    return json.loads(open(path).read())


def _fmt(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}"


def val_curve(work_dir: str) -> list[dict]:
    """Validation metrics logged by mmengine (``*/vis_data/scalars.json``) of one run."""
    files = sorted(glob.glob(os.path.join(work_dir, "*", "vis_data", "scalars.json")))
    if not files:
        raise FileNotFoundError(f"{work_dir}: no */vis_data/scalars.json")
    # iteration-based validation records carry step 0; number them by the run's val_interval
    from mmengine.config import Config

    dumped = sorted(glob.glob(os.path.join(work_dir, "*.py")))
    interval = Config.fromfile(dumped[0]).train_cfg.val_interval if dumped else None
    rows = []
    for line in open(files[-1]):
        rec = json.loads(line)
        if "healthivert/rhlv_mae" in rec:
            row = {k.split("/")[-1]: v for k, v in rec.items()}
            row["step"] = (len(rows) + 1) * interval if interval else len(rows) + 1
            rows.append(row)
    return rows


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--row", nargs="+", action="append", required=True, metavar="NAME JSON",
                   help="row name then the benchmark JSONs of its seeds")
    p.add_argument("--drift", nargs="+", action="append", default=[], metavar="NAME JSON",
                   help="row name then the JSONs of another checkpoint of the same seeds "
                        "(same order): the table shows row minus these")
    p.add_argument("--work-dirs", nargs="*", default=[])
    p.add_argument("--out", default="benchmarks/results/healthivert_issue25")
    args = p.parse_args(argv)
    rows = {r[0]: [_load(f) for f in r[1:]] for r in args.row}
    result = dict(rows={}, drift={}, val_curves={})
    lines = ["# HealthiVert-GAN on held-out fractured phantoms: seeds, ablations, drift", "",
             "| run | seeds | " + " | ".join(m for m, _ in MEASURES) + " |",
             "|---|---:|" + "---:|" * len(MEASURES)]
    for name, res in rows.items():
        vals = {m: [f(r) for r in res] for m, f in MEASURES}
        result["rows"][name] = dict(values=vals, checkpoints=[r["checkpoint"] for r in res],
                                    cfg_options=[r.get("cfg_options", {}) for r in res])
        lines.append(f"| {name} | {len(res)} | " + " | ".join(_fmt(v) for v in vals.values())
                     + " |")
    for d in args.drift:
        name, files = d[0], d[1:]
        best, last = rows[name], [_load(f) for f in files]
        if len(best) != len(last):
            raise ValueError(f"--drift {name}: {len(last)} last-checkpoint results for "
                             f"{len(best)} seeds")
        diffs = {m: [f(b) - f(x) for b, x in zip(best, last)] for m, f in MEASURES}
        spread = {m: float(np.std([f(r) for r in best], ddof=1)) if len(best) > 1 else None
                  for m, f in MEASURES}
        result["drift"][name] = dict(row_minus_other=diffs, seed_std=spread,
                                     last_checkpoints=[x["checkpoint"] for x in last])
        lines += ["", f"Drift: '{name}' minus the other checkpoint of the same seed "
                      f"({', '.join(x['checkpoint'] for x in last)}), and the seed standard "
                      f"deviation of '{name}'", "",
                  "| measure | per seed | seed std |", "|---|---|---:|"]
        for m, _ in MEASURES:
            sd = "–" if spread[m] is None else f"{spread[m]:.3f}"
            lines.append(f"| {m} | " + ", ".join(f"{v:+.3f}" for v in diffs[m]) + f" | {sd} |")
    for wd in args.work_dirs:
        curve = val_curve(wd)
        result["val_curves"][wd] = curve
        lines += ["", f"Validation curve of `{wd}` (16 validation phantoms):", "",
                  "| iteration | height MAE (mm) | bias (mm) | RHLV MAE | RHLV r |",
                  "|---:|---:|---:|---:|---:|"]
        for c in curve:
            lines.append(f"| {c.get('step')} | {c['height_mae_mm']:.2f} | "
                         f"{c.get('height_bias_mm', float('nan')):+.2f} | {c['rhlv_mae']:.3f} | "
                         f"{c.get('rhlv_pearson_r', float('nan')):.3f} |")
    lines += ["", "Command: `uv run benchmarks/healthivert_summary.py " +
              " ".join(f'"{a}"' if " " in a else a for a in (argv or sys.argv[1:])) + "`"]
    text = "\n".join(lines) + "\n"
    atomic_write_bytes(args.out + ".json", json.dumps(result, indent=1).encode())
    atomic_write_bytes(args.out + ".md", text.encode())
    print(text)
    return result


if __name__ == "__main__":
    main()
