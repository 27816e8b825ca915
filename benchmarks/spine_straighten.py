"""Spine straightening (HealthiVert-GAN pre-processing) on curved phantoms with known curves.

Example::

    OMP_NUM_THREADS=1 uv run benchmarks/spine_straighten.py --cases 12

For each fractured curved phantom (grades cycling 0-3) the case is straightened along the
spline through its vertebra centroids (``datasets/medical/spine_straighten.py``) and measured
against the planted geometry in ``meta.json``, before and after straightening:

* centroid deviation from one vertical line (voxels, max over vertebrae);
* rows spanned by each healthy vertebra along axis 2 minus the planted rim-to-rim height
  (mm; the band height HealthiVert-GAN cuts out);
* mean column height near the body centre (rho^2 <= 0.5) minus the planted concave-endplate
  profile (mm; straightened masks only);
* fitted vs planted centre line inside the spine (voxels);
* RHLV of the target from its true pre-fracture mask vs the planted section losses.

Writes ``benchmarks/results/spine_straighten.{json,md}``.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from zoo.datasets.medical.spine_io import load_spine_volume
from zoo.datasets.medical.spine_phantom import SECTIONS, generate_phantom_set
from zoo.datasets.medical.spine_straighten import ensure_straightened, vertebra_centroids

from zoo.fileio import atomic_write_bytes
from zoo.medical.rhlv import rhlv_from_files


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=12)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--root", help="phantom folder (default: a temporary one)")
    p.add_argument("--out", default="benchmarks/results/spine_straighten")
    return p.parse_args(argv)


def _centroid_dev(label: np.ndarray) -> float:
    xy = np.array([c[:2] for c in vertebra_centroids(label, np.ones(3)).values()])
    return float(np.abs(xy - xy.mean(0)).max())


def _span_errors(label: np.ndarray, meta: dict, sp: np.ndarray) -> list[float]:
    out = []
    for v in meta["vertebrae"]:
        rows = np.flatnonzero((label == v["label"]).any(axis=(0, 1)))
        out.append(float((rows.max() - rows.min() + 1) * sp[2] - v["healthy_height_mm"]))
    return out


def _column_errors(label: np.ndarray, meta: dict, sp: np.ndarray) -> list[float]:
    out = []
    for v in meta["vertebrae"]:
        m = label == v["label"]
        ci, cj, _ = np.array(np.nonzero(m)).mean(1)
        ii, jj = np.meshgrid(np.arange(m.shape[0]), np.arange(m.shape[1]), indexing="ij")
        rho2 = (((ii - ci) * sp[0] / (v["width_mm"] / 2)) ** 2
                + ((jj - cj) * sp[1] / (v["depth_mm"] / 2)) ** 2)
        sel = rho2 <= 0.5
        conc = v["concavity_superior_mm"] + v["concavity_inferior_mm"]
        expected = (v["healthy_height_mm"] - conc * (1 - rho2[sel])).mean()
        out.append(float(m.sum(axis=2)[sel].mean() * sp[2] - expected))
    return out


def measure_case(case: Path) -> dict:
    meta = json.loads((case / "meta.json").read_text())
    sp = np.array(meta["spacing"])
    st_dir = ensure_straightened(case)
    raw = load_spine_volume(case / "healthy_label.nii.gz").label
    st = load_spine_volume(st_dir / "healthy_label.nii.gz").label
    fit = np.array(json.loads((st_dir / "straighten.json").read_text())["centre_line_voxel"])
    true = np.array(meta["centre_line"]["points_voxel"])
    ks = [v["centre_voxel"][2] for v in meta["vertebrae"]]
    inner = true[(true[:, 2] >= min(ks)) & (true[:, 2] <= max(ks))]
    curve_err = max(float(np.abs(np.interp(inner[:, 2], fit[:, 2], fit[:, k])
                                 - inner[:, k]).max()) for k in (0, 1))
    t = meta["vertebrae"][meta["target_index"]]
    rhlv = {}
    for name, folder in (("raw", case), ("straight", st_dir)):
        res = rhlv_from_files(folder / "healthy_label.nii.gz", folder / "label.nii.gz",
                              t["label"])
        rhlv[name] = [float(res.rhlv[s] - t["section_loss"][s]) for s in SECTIONS]
    return dict(case=str(case.name), grade=t["grade"],
                max_tilt_deg=float(max(abs(v["sagittal_tilt_deg"]) for v in meta["vertebrae"])),
                centroid_dev_vox=dict(raw=_centroid_dev(raw), straight=_centroid_dev(st)),
                span_err_mm=dict(raw=_span_errors(raw, meta, sp),
                                 straight=_span_errors(st, meta, sp)),
                column_err_mm=_column_errors(st, meta, sp), curve_err_vox=curve_err,
                rhlv_err=rhlv)


def summarise(rows: list[dict]) -> dict:
    def stat(values):
        v = np.asarray(values, np.float64)
        return dict(mean=float(v.mean()), mean_abs=float(np.abs(v).mean()),
                    max_abs=float(np.abs(v).max()))

    out = dict(cases=len(rows), max_tilt_deg=stat([r["max_tilt_deg"] for r in rows]),
               curve_err_vox=stat([r["curve_err_vox"] for r in rows]),
               column_err_mm=stat(sum((r["column_err_mm"] for r in rows), [])))
    for key in ("centroid_dev_vox", "span_err_mm", "rhlv_err"):
        for name in ("raw", "straight"):
            vals = [r[key][name] for r in rows]
            flat = sum(vals, []) if isinstance(vals[0], list) else vals
            out[f"{key}_{name}"] = stat(flat)
    for name in ("raw", "straight"):
        # the end vertebrae rely on the extrapolated curve; targets are never end vertebrae
        out[f"span_err_mm_inner_{name}"] = stat(sum((r["span_err_mm"][name][1:-1]
                                                     for r in rows), []))
    return out


def render_markdown(summary: dict, args) -> str:
    lines = [f"# Spine straightening on {summary['cases']} curved phantoms", "",
             f"`OMP_NUM_THREADS=1 uv run benchmarks/spine_straighten.py --cases {args.cases} "
             f"--seed {args.seed}`", "",
             f"Max sagittal tilt per phantom: mean {summary['max_tilt_deg']['mean_abs']:.1f} deg, "
             f"max {summary['max_tilt_deg']['max_abs']:.1f} deg.", "",
             "| measure | before (image axes) | after straightening |", "|---|---:|---:|"]
    for key, label, unit in (("centroid_dev_vox", "centroid deviation from a vertical line",
                              "voxels"),
                             ("span_err_mm", "rows spanned - planted height (all vertebrae)",
                              "mm"),
                             ("span_err_mm_inner", "same, inner vertebrae (never the end ones)",
                              "mm"),
                             ("rhlv_err", "target RHLV (true pre-fracture mask) - planted",
                              "")):
        a, b = summary[f"{key}_raw"], summary[f"{key}_straight"]
        lines.append(f"| {label}, mean / mean abs / max abs {unit} | {a['mean']:+.3f} / "
                     f"{a['mean_abs']:.3f} / {a['max_abs']:.3f} | {b['mean']:+.3f} / "
                     f"{b['mean_abs']:.3f} / {b['max_abs']:.3f} |")
    c, e = summary["column_err_mm"], summary["curve_err_vox"]
    lines += ["", f"Mean column height near the body centre vs the planted concave profile "
              f"(straightened): mean abs {c['mean_abs']:.2f} mm, max {c['max_abs']:.2f} mm. "
              f"Fitted vs planted centre line inside the spine: mean of per-case max "
              f"{e['mean_abs']:.2f} voxels, max {e['max_abs']:.2f}.", ""]
    return "\n".join(lines)


def main(argv=None) -> dict:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.root or tmp)
        cases = generate_phantom_set(root, args.cases, seed=args.seed, fractured=True,
                                     curved=True)
        rows = [measure_case(c) for c in cases]
    summary = summarise(rows)
    result = dict(summary=summary, cases=rows)
    atomic_write_bytes(args.out + ".json", json.dumps(result, indent=1).encode())
    atomic_write_bytes(args.out + ".md", render_markdown(summary, args).encode())
    print(render_markdown(summary, args))
    return result


if __name__ == "__main__":
    main()
