"""MSR Action3D cross-subject, joint stream: one row per skeleton backbone config with its
parameters, GFLOPs per clip, training seconds per epoch on this machine and the test top-1
(mean ± std over the seeds that finished) of ``tools/sweep.py`` runs.

The runs are made beforehand, one sweep folder per row (``--runs-dir``/<row key>), e.g.::

    nice -n 5 env OMP_NUM_THREADS=1 uv run tools/sweep.py configs/skeleton/stgcn_msr3d_xsub.py \\
        --seeds 0 1 2 --cfg-options train_cfg.val_interval=80 --jobs 1 \\
        --out work_dirs/msr/stgcn_j

This script only reads them: a seed counts when its work dir holds its final test metrics
(``zoo.sweep.read_run_metrics``); seconds per epoch are the median gap between consecutive
end-of-epoch ``Epoch(train)`` lines of each run's log (finished or not; validation epochs
left out), so they measure the machine as it was during the run. A row without a finished
seed says so. Writes ``benchmarks/results/skeleton_msr3d.{json,md}``::

    uv run benchmarks/skeleton_msr3d.py --runs-dir work_dirs/msr --note "..."
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from zoo.analysis.complexity import config_complexity  # noqa: E402
from zoo.fileio import atomic_path, atomic_write_text  # noqa: E402
from zoo.sweep import config_with_options, read_run_metrics, summarise  # noqa: E402

# key (sweep folder under --runs-dir), backbone, config, overrides of the final protocol (the
# sweep's own sweep.json, when present, says which were used), the validation sweep that chose
# the recipe's free value (None: nothing chosen on validation)
FINAL = "train_dataloader.dataset.values=[1,3,5,7,9]"
ROWS = [
    ("stgcn_j", "ST-GCN (recipe)", "configs/skeleton/recipes/stgcn_msr3d_xsub.py",
     [FINAL, "train_cfg.val_interval=80"], ("stgcn_val",)),
    ("stgcn_j_amp", "ST-GCN (recipe, `--amp` bf16)", "configs/skeleton/recipes/stgcn_msr3d_xsub.py",
     [FINAL, "train_cfg.val_interval=80"], ("stgcn_val",)),
    ("stgcn_pyskl_j", "PYSKL ST-GCN (recipe)",
     "configs/skeleton/recipes/stgcn_pyskl_msr3d_xsub.py", [FINAL, "train_cfg.val_interval=80"],
     ("stgcn_val",)),
    ("stgcnpp_j", "STGCN++ (recipe)", "configs/skeleton/recipes/stgcnpp_msr3d_xsub.py",
     [FINAL, "train_cfg.val_interval=80"], ("stgcn_val",)),
    ("ctrgcn_noreg_j", "CTR-GCN (recipe)", "configs/skeleton/recipes/ctrgcn_msr3d_xsub.py",
     [FINAL, "train_cfg.val_interval=65"],
     ("ctrgcn_val", "ctrgcn_val_w32", "ctrgcn_val_light", "ctrgcn_val_noreg")),
    ("ctrgcn_j", "CTR-GCN (starting values: head dropout 0.5, label smoothing 0.1)",
     "configs/skeleton/recipes/ctrgcn_msr3d_xsub.py", [FINAL, "train_cfg.val_interval=65"], (),
     # the recipe's defaults when this run was made (they are the tuned values now)
     ["model.cls_head.dropout=0.5", "model.label_smoothing=0.1"]),
    ("skateformer_noreg_lr2_j", "SkateFormer (recipe)",
     "configs/skeleton/recipes/skateformer_msr3d_xsub.py", [FINAL],
     ("skate_val", "skate_val_lessreg", "skate_val_lessreg_lr2", "skate_val_noreg_lr2")),
    ("skateformer_lessreg_j", "SkateFormer (first-round values: lr 1e-3, label smoothing 0.1, "
     "attn_drop / drop_path 0.1)", "configs/skeleton/recipes/skateformer_msr3d_xsub.py",
     [FINAL], ("skate_val", "skate_val_lessreg"),
     # the recipe's defaults when this run was made (round 2 changed them)
     ["model.label_smoothing=0.1"]),
    ("ensemnn_j", "Ensem-NN (recipe)", "configs/skeleton/recipes/ensemnn_msr3d_xsub.py",
     [FINAL, "train_cfg.val_interval=40"], ("ensemnn_val",)),
]
_EPOCH_END = re.compile(r"^(\S+ \S+) - mmengine - INFO - Epoch\(train\)\s*\[(\d+)\]\[(\d+)/(\d+)\]")
_VAL = re.compile(r"Epoch\(val\)\s*\[(\d+)\]")


def epoch_seconds(log: Path) -> list[float]:
    """Gaps between consecutive end-of-epoch training lines of one run's log, skipping the
    gaps that contain a validation."""
    ends, val_epochs = {}, set()
    for line in log.read_text(errors="replace").splitlines():
        m = _EPOCH_END.match(line)
        if m and m.group(3) == m.group(4):
            stamp = m.group(1)
            fmt = "%Y/%m/%d %H:%M:%S" if stamp[4] == "/" else "%m/%d %H:%M:%S"
            ends[int(m.group(2))] = datetime.strptime(stamp, fmt)
        v = _VAL.search(line)
        if v:
            val_epochs.add(int(v.group(1)))
    return [(ends[e] - ends[e - 1]).total_seconds() for e in sorted(ends)
            if e - 1 in ends and e - 1 not in val_epochs]


def validation_choice(sweeps: list[Path]) -> dict | None:
    """What the validation sweeps of one backbone compared: every grid point's mean
    validation top-1 (last evaluation, which ranks, and best), labelled by its config (when
    it is not the first sweep's), the sweep's overrides and the grid values; the chosen point
    is the best last evaluation (the first of equal ones, as ``--select val/top1``)."""
    points, commands, first_config = [], [], None
    for sweep in sweeps:
        path = sweep / "sweep.json"
        if not path.is_file():
            continue
        payload = json.loads(path.read_text())
        config = payload.get("config", "")
        if first_config is None:
            first_config = config
        fixed = {k: v for k, v in (o.split("=", 1) for o in payload.get("cfg_options", []))
                 if k != "randomness.seed"}
        for r in payload["rows"]:
            label = _options({**fixed, **r["options"]})
            if config != first_config:
                label = f"{Path(config).stem}: {label}"
            points.append(dict(label=label, seeds=r["seeds"],
                               last=r["metrics"].get("val/top1", {}).get("mean"),
                               best=r["metrics"].get("val/best_top1", {}).get("mean")))
        commands.append(payload["command"])
    if not points:
        return None
    ranked = [p for p in points if p["last"] is not None]
    chosen = max(ranked, key=lambda p: p["last"])["label"] if ranked else None
    return dict(points=points, commands=commands, selected=chosen)


def row(key: str, name: str, config: str, options: list[str], runs_dir: Path,
        val_keys: tuple[str, ...] = (), pinned: list[str] = ()) -> dict:
    """``pinned``: values the config file had when the runs were made and no longer has."""
    sweep = runs_dir / key
    if (sweep / "sweep.json").is_file():  # the overrides the runs really had
        options = json.loads((sweep / "sweep.json").read_text())["cfg_options"]
    options = [*pinned, *options]
    cfg = config_with_options(ROOT / config, options)
    cx = config_complexity(cfg)
    seeds, tops, gaps, partial = [], [], [], []
    for work_dir in sorted((sweep / "runs" / "default").glob("seed*")):
        seed = int(work_dir.name[4:])
        log = sweep / "logs" / f"default_seed{seed}.log"
        if log.is_file():
            gaps += epoch_seconds(log)
        try:
            metrics = read_run_metrics(work_dir)
        except (FileNotFoundError, ValueError):
            done = [int(m) for m in re.findall(r"Epoch\(train\)\s*\[(\d+)\]",
                                               log.read_text())] if log.is_file() else []
            partial.append(dict(seed=seed, epochs_done=max(done, default=0)))
            continue
        seeds.append(seed)
        tops.append(metrics["top1"])
    test = None
    if tops:
        test = dict(summarise(tops), values=tops)
    return dict(key=key, backbone=name, config=config, cfg_options=options,
                input=cx["input"], params=cx["params"], gflops_per_clip=cx["gflops"],
                max_epochs=cfg.train_cfg.max_epochs,
                test_clips=_test_clips(cfg),
                seconds_per_epoch=statistics.median(gaps) if gaps else None,
                epochs_timed=len(gaps), seeds=seeds, test_top1=test, unfinished=partial,
                validation=validation_choice([runs_dir / k for k in val_keys]),
                validation_keys=list(val_keys))


def _test_clips(cfg) -> int | None:
    for step in cfg.test_dataloader.dataset.get("pipeline", []):
        if step.get("type") == "UniformSampleFrames":
            return step.get("num_clips", 1)
    return None


def markdown(rows: list[dict], note: str, command: str) -> str:
    lines = ["# Skeleton backbones on MSR Action3D, cross-subject, joint stream", "",
             "Train on subjects 1, 3, 5, 7, 9, test on the even subjects (275 sequences, one "
             "sequence = 0.36 points); top-1 of the final weights (no checkpoint chosen on the "
             "test split). Mean ± sample std over the seeds that finished (n). GFLOPs: one clip "
             "(`tools/analysis/complexity.py`, multiply-add = 2 FLOPs); testing averages "
             "the clips listed. s/epoch: median training epoch of this session's runs on the "
             "shared 2-core CPU (see the note: not an idle-machine speed).", "",
             f"Table: `{command}`", "",
             "| backbone | config | params | GFLOPs / clip (input) | test clips | epochs | "
             "s / epoch (train min) | chosen on subject 9 | test top-1 | seeds |",
             "|---|---|---:|---:|---:|---:|---:|---|---:|---|"]
    for r in rows:
        t = r["test_top1"]
        if t:
            spread = f" ± {t['std']:.1f}" if t["n"] > 1 else ""  # no spread from one seed
            top = f"{t['mean']:.1f}{spread} (n = {t['n']})"
        else:
            top = "no seed finished" if r["unfinished"] else "not run this session"
        seeds = ",".join(map(str, r["seeds"])) or "none"
        if r["unfinished"]:
            seeds += "; stopped: " + ", ".join(
                f"seed {p['seed']} at epoch {p['epochs_done']}" for p in r["unfinished"])
        spe = (f"{r['seconds_per_epoch']:.0f} ({r['seconds_per_epoch'] * r['max_epochs'] / 60:.0f})"
               if r["seconds_per_epoch"] else "–")
        opts = (" `--cfg-options " + " ".join(f'"{o}"' if "[" in o else o
                                               for o in r["cfg_options"]) + "`"
                ) if r["cfg_options"] else ""
        lines.append(
            f"| {r['backbone']} | `{r['config']}`{opts} | {r['params']:,} | "
            f"{r['gflops_per_clip']:.3f} ({'x'.join(map(str, r['input']))}) | "
            f"{r['test_clips']} | {r['max_epochs']} | {spe} | {_chosen(r['validation'])} | "
            f"{top} | {seeds} |")
    lines += _validation_section(rows)
    return "\n".join(lines) + "\n\n" + note.strip() + "\n"


def _options(options: dict) -> str:
    return ", ".join(f"{k.rsplit('.', 1)[-1]} {v}" for k, v in options.items()) or "default"


def _chosen(validation: dict | None) -> str:
    if validation is None:
        return "nothing tuned"
    return validation["selected"] or "not selected yet"


def _validation_section(rows: list[dict]) -> list[str]:
    """One line per backbone's validation sweeps: every point's subject-9 top-1 (last
    evaluation, which chose, and best) and the commands."""
    seen, lines = set(), []
    for r in rows:
        v = r.get("validation")
        if not v or set(v["commands"]) <= seen:  # a row whose sweeps are listed already
            continue
        seen.update(v["commands"])
        points = "; ".join(
            f"{p['label']}: last {_num(p['last'])}, best {_num(p['best'])} "
            f"(seeds {','.join(map(str, p['seeds']))})" for p in v["points"])
        commands = " ".join(f"`uv run {c}`" for c in v["commands"])
        lines.append(f"- {r['backbone'].split(' (')[0]}: {points}. {commands}")
    if lines:
        lines = ["", "## Choices made on the validation subject (9; trained on 1, 3, 5, 7)",
                 "", "Validation top-1 per point, mean over the seeds run; the point with the "
                 "best last evaluation (`--select val/top1`; the first of equal ones) is the "
                 "recipe's value. One validation sequence is 1.8 points.", "", *lines]
    return lines


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def train_loss_by_epoch(work_dir: Path) -> dict[int, float]:
    """Mean logged training loss per epoch of one run (mmengine's scalars.json)."""
    losses: dict[int, list[float]] = {}
    for scalars in sorted(work_dir.glob("*/vis_data/scalars.json")):
        for line in scalars.read_text().splitlines():
            record = json.loads(line) if line.strip() else {}
            if "loss" in record and "epoch" in record:
                losses.setdefault(int(record["epoch"]), []).append(float(record["loss"]))
    return {e: statistics.mean(v) for e, v in sorted(losses.items())}


def plot_validation_curves(rows: list[dict], runs_dir: Path, png: str) -> None:
    """One panel per validation sweep: subject-9 top-1 (solid) and training loss (dashed) per
    epoch of each grid point's runs, so under- and over-fitting show."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from zoo.sweep import read_val_curve

    sweeps = list(dict.fromkeys(k for r in rows if r.get("validation")
                                for k in r["validation_keys"]))
    if not sweeps:
        return
    fig, axes = plt.subplots(1, len(sweeps), figsize=(5 * len(sweeps), 3.6), squeeze=False)
    for ax, key in zip(axes[0], sweeps):
        twin = ax.twinx()
        name = next(r["backbone"].split(" (")[0] for r in rows
                    if key in r.get("validation_keys", []))
        for i, point in enumerate(sorted((runs_dir / key / "runs").glob("*"))):
            for work_dir in sorted(point.glob("seed*")):
                curve = read_val_curve(work_dir)
                colour = f"C{i}"
                ax.plot([c["step"] for c in curve], [c["top1"] for c in curve], "-o",
                        color=colour, ms=3, label=f"{point.name} {work_dir.name}")
                loss = train_loss_by_epoch(work_dir)
                twin.plot(list(loss), list(loss.values()), "--", color=colour, lw=0.8)
        ax.set_title(f"{name} ({key}): validation subject 9", fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel("val top-1 (%) (solid)")
        twin.set_ylabel("train loss (dashed)")
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    with atomic_path(png) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", default="work_dirs/msr", help="one sweep folder per row")
    parser.add_argument("--note", default="", help="text under the table (commands, load)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/skeleton_msr3d"))
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    runs_dir = Path(args.runs_dir)
    rows = [row(k, n, c, o, runs_dir, *rest) for k, n, c, o, *rest in ROWS]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    command = "uv run benchmarks/skeleton_msr3d.py --runs-dir " + str(args.runs_dir)
    atomic_write_text(args.out + ".json", json.dumps(
        dict(command=command, table_commit=commit, rows=rows, note=args.note), indent=2))
    atomic_write_text(args.out + ".md", markdown(rows, args.note, command))
    plot_validation_curves(rows, runs_dir, args.out + "_curves.png")
    print(Path(args.out + ".md").read_text())


if __name__ == "__main__":
    main()
