"""Per-vertebra accuracy of the fracture classifier behind the HGAM heat maps, on phantoms.

Reads the ``--summary`` JSON of ``tools/medical/write_heatmaps.py`` (mean fractured-class
probability over each vertebra's central sagittal slices) and the cases' ``meta.json``
(Genant grades), and writes recall / specificity at probability 0.5 per folder::

    uv run benchmarks/fracture_classifier_phantom.py work_dirs/heatmaps_summary.json \
        --out benchmarks/results/fracture_classifier_phantom
"""
from __future__ import annotations

import argparse
import json
import os
from collections import defaultdict
from pathlib import Path

import numpy as np

from zoo.fileio import atomic_write_bytes


def evaluate(summary: dict, min_grade: int = 1) -> dict:
    """Recall (grade >= ``min_grade``) and specificity (healthy) per parent folder."""
    groups: dict[str, dict[str, list[float]]] = defaultdict(lambda: dict(fr=[], he=[]))
    for case, info in summary.items():
        meta_path = Path(case) / "meta.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"{meta_path}: case of the summary has no meta.json")
        meta = json.loads(meta_path.read_text())
        for v in meta["vertebrae"]:
            prob = info["prob"].get(str(v["label"]))
            if prob is None:
                continue
            groups[str(Path(case).parent)]["fr" if v["grade"] >= min_grade else "he"].append(prob)
    out = {}
    for root, g in sorted(groups.items()):
        fr, he = np.array(g["fr"]), np.array(g["he"])
        out[root] = dict(fractured=int(fr.size), healthy=int(he.size),
                         recall=float((fr > 0.5).mean()) if fr.size else None,
                         specificity=float((he <= 0.5).mean()) if he.size else None)
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("summary", help="--summary JSON of tools/medical/write_heatmaps.py")
    p.add_argument("--out", default="benchmarks/results/fracture_classifier_phantom")
    args = p.parse_args(argv)
    if not os.path.isfile(args.summary):
        raise FileNotFoundError(f"{args.summary}: heat-map summary does not exist")
    res = evaluate(json.loads(Path(args.summary).read_text()))
    lines = ["# Fracture classifier (HGAM heat-map source) per vertebra on phantoms", "",
             f"Command: `uv run benchmarks/fracture_classifier_phantom.py {args.summary} "
             f"--out {args.out}`", "",
             "Fractured = Genant grade >= 1; a vertebra is called fractured when its mean "
             "probability over its central sagittal slices exceeds 0.5.", "",
             "| phantoms | fractured / healthy vertebrae | recall | specificity |",
             "|---|---:|---:|---:|"]
    for root, r in res.items():
        fmt = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
        lines.append(f"| `{root}` | {r['fractured']} / {r['healthy']} | {fmt(r['recall'])} | "
                     f"{fmt(r['specificity'])} |")
    text = "\n".join(lines) + "\n"
    atomic_write_bytes(args.out + ".json", json.dumps(res, indent=1).encode())
    atomic_write_bytes(args.out + ".md", text.encode())
    print(text)
    return res


if __name__ == "__main__":
    main()
