"""Does HealthiVert-GAN's synthesised height follow the vertebra? Reads the per-vertebra rows of
``benchmarks/healthivert_phantom.py`` results and the phantoms' ``meta.json``.

Per run: spread of the synthesised and the true pre-fracture heights (whole-body, mm), the
slope and Pearson r of synthesised on true height, the mean bias and what it correlates with
(true height, endplate concavity, sagittal / coronal tilt), how well the neighbours' own
healthy heights predict the target's (the context a generator can read around the band), and
the spread of the generator's SHRM height output.
A generator that ignores the context has slope ~0 and a bias that mirrors the true height.

Example::

    uv run benchmarks/healthivert_height_tracking.py \\
        benchmarks/results/healthivert_issue25/curved_full_s*_iter300.json \\
        --out benchmarks/results/healthivert_issue25/height_tracking
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from zoo.fileio import atomic_write_bytes
from zoo.medical.metrics import pearson_r

CORRELATES = ("true height", "concavity", "sagittal tilt", "coronal tilt")


def vertebra_rows(result: dict) -> list[dict]:
    """One row per benchmarked vertebra: synthesised / true height and the phantom's facts."""
    rows = []
    for v in result["vertebrae"]:
        meta_path = Path(result["data_root"]) / f"case_{v['case_id']:04d}" / "meta.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"{meta_path}: phantom meta.json missing (regenerate the "
                                    f"benchmark phantoms, {result['data_root']})")
        spine = json.loads(meta_path.read_text())["vertebrae"]
        index = [i for i, m in enumerate(spine) if m["label"] == v["label"]]
        if not index:
            raise KeyError(f"{meta_path}: no vertebra with label {v['label']}")
        i = index[0]
        neighbours = [spine[k]["healthy_height_mm"] for k in (i - 1, i + 1)
                      if 0 <= k < len(spine)]
        m = spine[i]
        rows.append({"syn": v["height_syn"]["whole"], "true": v["height_true"]["whole"],
                     "shrm": v.get("shrm_height_mm", float("nan")),
                     "neighbours": float(np.mean(neighbours)),
                     "concavity": m["concavity_superior_mm"] + m["concavity_inferior_mm"],
                     "sagittal tilt": abs(m["sagittal_tilt_deg"]),
                     "coronal tilt": abs(m["coronal_tilt_deg"]), "grade": v["grade"]})
    return rows


def tracking(rows: list[dict]) -> dict:
    syn = np.array([r["syn"] for r in rows])
    true = np.array([r["true"] for r in rows])
    bias = syn - true
    out = {"vertebrae": len(rows), "true_mean": float(true.mean()),
           "true_sd": float(true.std()), "syn_mean": float(syn.mean()),
           "syn_sd": float(syn.std()), "slope": float(np.polyfit(true, syn, 1)[0]),
           "r_syn_true": pearson_r(syn, true), "bias": float(bias.mean()),
           "r_true_neighbours": pearson_r(true, [r["neighbours"] for r in rows]),
           "r_syn_neighbours": pearson_r(syn, [r["neighbours"] for r in rows]),
           "shrm_sd": float(np.std([r["shrm"] for r in rows]))}
    for name in CORRELATES:
        values = true if name == "true height" else [r[name] for r in rows]
        out[f"r_bias_{name}"] = pearson_r(bias, values)
    out["bias_by_grade"] = {g: float(bias[[r["grade"] == g for r in rows]].mean())
                            for g in sorted({r["grade"] for r in rows})}
    return out


COLUMNS = (("true height sd", "true_sd"), ("synth. height sd", "syn_sd"),
           ("slope synth. on true", "slope"), ("r synth., true", "r_syn_true"),
           ("bias (mm)", "bias"), ("r bias, true height", "r_bias_true height"),
           ("r bias, concavity", "r_bias_concavity"),
           ("r bias, sagittal tilt", "r_bias_sagittal tilt"),
           ("r true, neighbours' heights", "r_true_neighbours"),
           ("r synth., neighbours' heights", "r_syn_neighbours"),
           ("SHRM height sd", "shrm_sd"))


def markdown(runs: dict[str, dict], command: str) -> str:
    lines = ["# HealthiVert-GAN: does the synthesised height follow the vertebra?", "",
             f"Made by: `{command}`", "",
             "Whole-body heights (mm) of the benchmarked target vertebrae: synthesised (from "
             "the generated mask) and true (pre-fracture mask), per run; neighbours' heights: "
             "the mean recorded healthy height of the vertebrae above and below (phantom "
             "meta.json), the context a generator sees around the band. SHRM height: the "
             "generator's own height output (fine stage, mm), which sets how many rows of the "
             "composite the synthesised vertebra gets.", "",
             "| run | " + " | ".join(c for c, _ in COLUMNS) + " |",
             "|---|" + "---:|" * len(COLUMNS)]
    for name, t in runs.items():
        lines.append(f"| {name} | " + " | ".join(f"{t[k]:.2f}" for _, k in COLUMNS) + " |")
    if len(runs) > 1:
        cells = []
        for _, k in COLUMNS:
            values = np.array([t[k] for t in runs.values()])
            cells.append(f"{values.mean():.2f} ± {values.std(ddof=1):.2f}")
        lines.append(f"| mean ± std ({len(runs)} runs) | " + " | ".join(cells) + " |")
    lines += ["", "Bias by grade (mm): " + "; ".join(
        f"{name}: " + ", ".join(f"{g} {b:+.2f}" for g, b in t["bias_by_grade"].items())
        for name, t in runs.items())]
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", nargs="+", help="benchmarks/healthivert_phantom.py JSON files")
    p.add_argument("--out", required=True, help="output path without suffix (.md and .json)")
    args = p.parse_args(argv)
    runs = {}
    for path in args.results:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: benchmark result does not exist")
        runs[Path(path).stem] = tracking(vertebra_rows(json.loads(Path(path).read_text())))
    command = "uv run benchmarks/healthivert_height_tracking.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out.with_suffix(".json"),
                       json.dumps({"command": command, "runs": runs}, indent=1).encode())
    atomic_write_bytes(out.with_suffix(".md"), markdown(runs, command).encode())
    print(markdown(runs, command))
    return runs


if __name__ == "__main__":
    main()
