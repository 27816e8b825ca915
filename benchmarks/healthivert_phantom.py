"""HealthiVert-GAN on held-out fractured spine phantoms: heights, RHLV and Genant grading.

Example (after ``uv run tools/train.py configs/medical/healthivert_phantom.py``)::

    OMP_NUM_THREADS=1 uv run benchmarks/healthivert_phantom.py \
        --checkpoint work_dirs/healthivert_phantom/iter_1200.pth

Measures on phantoms whose pre-fracture heights are known: MAE (mm) between synthesised and
true pre-fracture section heights, SHRM height MAE, RHLV vs planted section loss (MAE,
Pearson r), and 5-fold cross-validated linear-SVM Genant grading on the three section RHLVs.
The same grading with RHLV from the *true* pre-fracture mask is reported as an upper bound.
Writes ``benchmarks/results/healthivert_phantom.{json,md}`` and a demo PNG.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from mmengine.config import DictAction
from zoo.datasets.medical.healthivert_dataset import HealthiVertPhantomDataset

from zoo.fileio import atomic_write_bytes
from zoo.medical.grading import grade_cross_validation
from zoo.medical.healthivert_eval import load_healthivert, plot_healthivert_demo, predict_dataset
from zoo.medical.metrics import aggregate_vertebrae, pearson_r, summarise
from zoo.medical.rhlv import SECTIONS


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="configs/medical/healthivert_phantom.py")
    p.add_argument("--checkpoint", nargs="+", help="trained HealthiVert-GAN (a .pth, or a work "
                   "dir: its validation-selected best_*.pth); several share one data load "
                   "(then one --out each); without it only the oracle part runs (3-D RHLV from "
                   "the true pre-fracture mask + SVM grading)")
    p.add_argument("--cfg-options", nargs="+", action=DictAction, default={},
                   help="model overrides, e.g. model.use_heatmap=False (the ablations)")
    p.add_argument("--oracle-roots", nargs="*",
                   default=["work_dirs/spine_phantoms/test_fractured",
                            "work_dirs/spine_phantoms/bench_fractured"])
    p.add_argument("--data-root", help="held-out phantoms (default: bench_fractured next to "
                   "the config's test phantoms)")
    p.add_argument("--cases", type=int, default=60, help="fractured phantoms (grades cycle 0-3)")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--out", nargs="+", default=["benchmarks/results/healthivert_phantom"])
    p.add_argument("--png", default="benchmarks/results/healthivert_phantom_demo.png",
                   help="demo figure ('' for none)")
    return p.parse_args(argv)


def oracle(roots: list[str]) -> dict:
    """3-D RHLV of every phantom target from its true pre-fracture mask, and SVM grading."""
    from zoo.medical.rhlv import rhlv_from_files

    feats, planted, grades, names = [], [], [], []
    for root in roots:
        for case in sorted(Path(root).glob("case_*")):
            if not (case / "meta.json").is_file():
                continue
            meta = json.loads((case / "meta.json").read_text())
            target = meta["vertebrae"][meta["target_index"]]
            res = rhlv_from_files(case / "healthy_label.nii.gz", case / "label.nii.gz",
                                  meta["target_label"])
            feats.append(res.features())
            planted.append([target["section_loss"][s] for s in SECTIONS])
            grades.append(target["grade"])
            names.append(str(case))
    feats, planted, grades = np.array(feats), np.array(planted), np.array(grades)
    return dict(cases=names, num_vertebrae=len(names),
                grade_counts=np.bincount(grades, minlength=4).tolist(),
                rhlv_mae=float(np.abs(feats - planted).mean()),
                rhlv_pearson_r=pearson_r(feats, planted),
                grading=grade_cross_validation(feats, grades))


def held_out_dataset(data_cfg, data_root: str, cases: int, seed: int):
    """Held-out fractured phantoms prepared as the config's test data (crop, band, curved
    phantoms, spine straightening); generated on first use."""
    return HealthiVertPhantomDataset(data_root, num_cases=cases, fractured=True,
                                     targets="target", crop_size=data_cfg.crop_size,
                                     band=data_cfg.band, seed=seed,
                                     curved=data_cfg.get("curved", False),
                                     straighten=data_cfg.get("straighten", False))


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(1)
    if args.checkpoint is None:
        result = oracle(args.oracle_roots)
        atomic_write_bytes(args.out[0] + "_oracle.json", json.dumps(result, indent=1).encode())
        g = result["grading"]
        print(f"oracle 3-D RHLV on {result['num_vertebrae']} vertebrae "
              f"(grades {result['grade_counts']}): MAE {result['rhlv_mae']:.4f}, Pearson r "
              f"{result['rhlv_pearson_r']:.4f}; SVM {g['folds']}-fold accuracy "
              f"{g['accuracy']:.3f}, macro F1 {g['macro_f1']:.3f}, confusion {g['confusion']}")
        return result
    if len(args.out) != len(args.checkpoint):
        raise ValueError(f"--out: {len(args.out)} names for {len(args.checkpoint)} checkpoints")
    start = time.time()
    model, cfg = load_healthivert(args.config, args.checkpoint[0], args.cfg_options)
    data_cfg = cfg.test_dataloader.dataset
    if args.data_root is None:
        args.data_root = str(Path(data_cfg.data_root).parent / "bench_fractured")
    dataset = held_out_dataset(data_cfg, args.data_root, args.cases, args.seed)
    results = []
    for i, (ckpt, out) in enumerate(zip(args.checkpoint, args.out)):
        if i:
            start = time.time()
            model, _ = load_healthivert(args.config, ckpt, args.cfg_options)
        results.append(evaluate(model, dataset, data_cfg, args, out, start))
    return results[0] if len(results) == 1 else results


def evaluate(model, dataset, data_cfg, args, out: str, start: float) -> dict:
    """Benchmark one model on the loaded phantoms; writes ``out``.json / .md."""
    preds = predict_dataset(model, dataset)
    rows = aggregate_vertebrae(preds)
    summary = summarise(rows)
    grades = np.array([r["grade"] for r in rows])
    planted = np.array([r["true_loss"] for r in rows])
    rhlv_syn = np.array([[r["rhlv_syn"][s] for s in SECTIONS] for r in rows])
    rhlv_true = np.array([[r["rhlv_true"][s] for s in SECTIONS] for r in rows])
    syn_h = np.array([[r["height_syn"][s] for s in SECTIONS] for r in rows])
    true_h = np.array([[r["height_true"][s] for s in SECTIONS] for r in rows])
    # the fractured heights in the true pre-fracture sections: independent of the model
    ori_h = np.array([[r["height_ori_true"][s] for s in SECTIONS] for r in rows])
    result = dict(
        config=args.config, checkpoint=model.checkpoint_path, cases=args.cases, seed=args.seed,
        cfg_options=dict(args.cfg_options), data_root=args.data_root,
        heatmaps=any(Path(args.data_root).glob(
            "case_*/straightened/heatmap.nii.gz" if data_cfg.get("straighten") else
            "case_*/heatmap.nii.gz")),
        curved=data_cfg.get("curved", False), straightened=data_cfg.get("straighten", False),
        num_slices=len(preds), grade_counts=np.bincount(grades, minlength=4).tolist(),
        synthesis=summary,
        height_mae_mm_by_section={s: float(np.abs(syn_h[:, i] - true_h[:, i]).mean())
                                  for i, s in enumerate(SECTIONS)},
        height_bias_mm=float((syn_h - true_h).mean()),
        no_synthesis_height_mae_mm=float(np.abs(ori_h - true_h).mean()),
        rhlv_pearson_r_syn=pearson_r(rhlv_syn, planted),
        rhlv_pearson_r_true_mask=pearson_r(rhlv_true, planted),
        grading_syn=grade_cross_validation(rhlv_syn, grades),
        grading_true_mask=grade_cross_validation(rhlv_true, grades),
        seconds=round(time.time() - start, 1), vertebrae=rows)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    atomic_write_bytes(out + ".json", json.dumps(result, indent=1).encode())
    atomic_write_bytes(out + ".md", render_markdown(result, out).encode())
    if args.png:
        _demo(rows, preds, dataset, args.png)
    print(render_markdown(result, out))
    return result


def _demo(rows: list[dict], preds: list[dict], dataset, png: str) -> None:
    """Demo figure: the most severe fracture, centre slice."""
    worst = max(rows, key=lambda r: max(r["true_loss"]))
    cands = [p for p in preds if int(p["case_id"]) == worst["case_id"]
             and int(p["label"]) == worst["label"]]
    centre = min(cands, key=lambda p: abs(p["slice_index"] - np.mean(
        [c["slice_index"] for c in cands])))
    idx = next(i for i, p in enumerate(preds) if p is centre)
    real = dataset.get_data_info(idx)["real"][0]
    loss = ", ".join(f"{s[0].upper()} {v:.0%}" for s, v in zip(SECTIONS, worst["true_loss"]))
    plot_healthivert_demo(centre, real, png,
                          title=f"phantom case {worst['case_id']}, vertebra {worst['label']}, "
                                f"grade {worst['grade']} (planted loss {loss})")


def render_markdown(r: dict, out: str) -> str:
    s = r["synthesis"]
    g, gt = r["grading_syn"], r["grading_true_mask"]
    lines = [
        "# HealthiVert-GAN on fractured spine phantoms",
        "",
        f"Command: `OMP_NUM_THREADS=1 uv run benchmarks/healthivert_phantom.py --config "
        f"{r['config']} --checkpoint {r['checkpoint']} --data-root {r['data_root']} --cases "
        f"{r['cases']} --seed {r['seed']}"
        + "".join(f" --cfg-options {k}={v}" for k, v in r.get("cfg_options", {}).items())
        + f" --out {out}`",
        "",
        f"Heat maps (HGAM) in the data: {r.get('heatmaps')}.",
        "",
        f"{s['num_vertebrae']} target vertebrae (grades 0/1/2/3: {r['grade_counts']}), "
        f"{r['num_slices']} sagittal slices, {r['seconds']} s on CPU.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| synthesised vs true pre-fracture section height, MAE | {s['height_mae_mm']:.2f} mm |",
        "| ... posterior / middle / anterior | " + " / ".join(
            f"{v:.2f}" for v in r["height_mae_mm_by_section"].values()) + " mm |",
        f"| ... mean signed error (bias) | {r['height_bias_mm']:+.2f} mm |",
        f"| no synthesis (fractured height as estimate), MAE | "
        f"{r['no_synthesis_height_mae_mm']:.2f} mm |",
        f"| SHRM predicted height vs true whole height, MAE | {s['shrm_height_mae_mm']:.2f} mm |",
        f"| RHLV vs planted section loss, MAE | {s['rhlv_mae']:.3f} |",
        f"| RHLV vs planted section loss, Pearson r | {r['rhlv_pearson_r_syn']:.3f} |",
        f"| Genant grading ({g['folds']}-fold CV linear SVM), accuracy | {g['accuracy']:.3f} |",
        f"| ... macro P / R / F1 | {g['macro_precision']:.3f} / {g['macro_recall']:.3f} / "
        f"{g['macro_f1']:.3f} |",
        f"| upper bound: RHLV from the true pre-fracture mask, Pearson r | "
        f"{r['rhlv_pearson_r_true_mask']:.3f} |",
        f"| upper bound: grading accuracy / macro F1 | {gt['accuracy']:.3f} / "
        f"{gt['macro_f1']:.3f} |",
        "",
        f"Confusion matrix (rows true grade, columns predicted), synthesis: {g['confusion']}",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
