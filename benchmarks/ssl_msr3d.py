"""Self-supervised pre-training on MSR Action3D: linear evaluation, k-NN and 10 %-label
fine-tuning of each pre-training method against a random encoder / training from scratch.

For every seed: pre-train with each method's config (``configs/selfsup/*_pretrain.py``, the
training subjects, labels unused), then

* linear evaluation (``stgcn_msr3d_linear.py``) of the pre-trained and of a random encoder;
* weighted k-NN (``tools/ssl_knn.py``, k = 20) of both;
* fine-tuning with a class-balanced 10 % of the labels (``stgcn_msr3d_semi10.py``, the
  label draw seeded by the seed) from the pre-trained encoder and from scratch.

Every run is a ``tools/train.py`` / ``tools/ssl_knn.py`` process; each finished cell is
cached as JSON in ``--cache-dir`` (a run can be stopped and resumed). The table (mean ± std
over seeds) goes to ``benchmarks/results/ssl_msr3d.md`` and ``.json``.

Example (the full protocol; hours on a few CPU cores)::

    OMP_NUM_THREADS=2 nice -n 10 uv run benchmarks/ssl_msr3d.py --seeds 0 1 2

``--pretrain-epochs`` / ``--eval-epochs`` shorten the schedules; the table records them.
One method's rows can be added to an existing table without recomputing the others::

    ... --methods HaLP --no-baseline --merge
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np

from zoo.fileio import atomic_write_text

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
METHODS = {"HiCLR": "configs/selfsup/hiclr_stgcn_msr3d_pretrain.py",
           "SkeletonMAE-style": "configs/selfsup/mae_stgcn_msr3d_pretrain.py",
           "HaLP": "configs/selfsup/halp_stgcn_msr3d_pretrain.py",
           "MoCo": "configs/selfsup/moco_stgcn_msr3d_pretrain.py"}
LINEAR = "configs/selfsup/stgcn_msr3d_linear.py"
SEMI = "configs/selfsup/stgcn_msr3d_semi10.py"
# Papers' NTU-60 cross-subject linear evaluation (a different, 40x larger data set).
PAPERS = {"HiCLR": "77.3 (joint, GCN; official repository README, JHang2020/HiCLR)",
          "HaLP": "not quoted (the paper's table could not be checked from here; "
                  "no number in the official README)"}
BASELINE = "random encoder / scratch"
TOP1 = re.compile(r"Final test: .*top1: ([0-9.]+)")
KNN = re.compile(r"k-NN \(k=\d+\) top-1: ([0-9.]+)")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    p.add_argument("--data-root", default=osp.join(ROOT, "..", "shared", "data", "msr_action3d"))
    p.add_argument("--pretrain-epochs", type=int, default=None, help="default: the config's")
    p.add_argument("--eval-epochs", type=int, default=None, help="default: the configs'")
    p.add_argument("--small", action="store_true",
                   help="a 4-block encoder (16-32 channels) for CPU-sized runs")
    p.add_argument("--no-baseline", action="store_true",
                   help="skip the random-encoder / scratch cells (with --merge: keep the table's)")
    p.add_argument("--merge", action="store_true",
                   help="keep the rows of the existing --out .json that this run does not "
                        "compute, and its commands (add one method's rows to the table)")
    p.add_argument("--table-only", action="store_true",
                   help="write the table from the cached cells only (missing ones left out)")
    p.add_argument("--cache-dir", default=osp.join(ROOT, "work_dirs", "ssl_msr3d"))
    p.add_argument("--out", default=osp.join(ROOT, "benchmarks", "results", "ssl_msr3d"))
    return p.parse_args(argv)


def run(cmd: list[str], log: str) -> str:
    """Run a tool in a subprocess; return its output (raise with the log's tail on error)."""
    proc = subprocess.run([sys.executable, *cmd], cwd=ROOT, capture_output=True, text=True)
    with open(log, "w") as f:
        f.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed; see {log}:\n{proc.stderr[-2000:]}")
    return proc.stdout


SMALL = ["model.backbone.num_stages=4", "model.backbone.inflate_stages=(3,)",
         "model.backbone.down_stages=(3,)"]


def encoder(args, pretraining: str | None = None) -> list[str]:
    """Options that shrink the encoder with ``--small`` (in every run alike)."""
    if not args.small:
        return []
    if pretraining is None:
        return SMALL + ["model.cls_head.in_channels=32"]
    return SMALL + (["model.temporal_stride=2"] if "mae" in pretraining else [])


def schedule(epochs: int | None) -> list[str]:
    if epochs is None:
        return []
    return [f"train_cfg.max_epochs={epochs}", f"default_hooks.checkpoint.interval={epochs}"]


class Missing(Exception):
    """A cell is not cached and ``--table-only`` forbids computing it."""


TABLE_ONLY = False


def cell(cache: str, name: str, compute, *args) -> float:
    """A cached number: ``cache/name.json`` or ``compute(*args)`` written atomically."""
    path = osp.join(cache, name + ".json")
    if osp.exists(path):
        with open(path) as f:
            return json.load(f)["value"]
    if TABLE_ONLY:
        raise Missing(name)
    value = compute(*args)
    atomic_write_text(path, json.dumps({"value": value}))
    return value


def pretrain(args, method: str, seed: int) -> str:
    work = osp.join(args.cache_dir, f"pretrain_{method}_s{seed}")
    ckpt = osp.join(work, "last_checkpoint")
    if not osp.exists(ckpt):
        opts = [f"randomness.seed={seed}",
                f"train_dataloader.dataset.data_root={args.data_root}",
                *schedule(args.pretrain_epochs), *encoder(args, METHODS[method])]
        run(["tools/train.py", METHODS[method], "--work-dir", work, "--no-test",
             "--cfg-options", *opts], osp.join(args.cache_dir, f"pretrain_{method}_s{seed}.log"))
    with open(ckpt) as f:
        return f.read().strip()


def evaluate(args, config: str, name: str, seed: int, load_from: str | None,
             extra: list[str]) -> float:
    data = [f"train_dataloader.dataset.data_root={args.data_root}",
            f"val_dataloader.dataset.data_root={args.data_root}",
            f"test_dataloader.dataset.data_root={args.data_root}"]
    opts = [f"randomness.seed={seed}", f"load_from={load_from}", *data, *extra,
            *schedule(args.eval_epochs), *encoder(args)]
    out = run(["tools/train.py", config, "--work-dir", osp.join(args.cache_dir, name),
               "--cfg-options", *opts], osp.join(args.cache_dir, name + ".log"))
    return float(TOP1.findall(out)[-1])


def knn(args, name: str, seed: int, load_from: str | None) -> float:
    data = [f"train_dataloader.dataset.data_root={args.data_root}",
            f"test_dataloader.dataset.data_root={args.data_root}",
            f"val_dataloader.dataset.data_root={args.data_root}", f"randomness.seed={seed}",
            *encoder(args)]
    cmd = ["tools/ssl_knn.py", LINEAR] + ([load_from] if load_from else [])
    out = run(cmd + ["--work-dir", osp.join(args.cache_dir, name), "--cfg-options", *data],
              osp.join(args.cache_dir, name + ".log"))
    return float(KNN.findall(out)[-1])


def collect(args) -> dict:
    os.makedirs(args.cache_dir, exist_ok=True)
    rows: dict[str, dict[str, list[float]]] = {}

    def add(row, col, name, compute, *cargs):
        try:
            value = cell(args.cache_dir, name, compute, *cargs)
        except Missing:
            return
        rows.setdefault(row, {}).setdefault(col, []).append(value)

    for seed in args.seeds:
        semi = [f"train_dataloader.dataset.label_seed={seed}"]
        if not args.no_baseline:
            name = f"linear_random_s{seed}"
            add(BASELINE, "linear", name, evaluate, args, LINEAR, name, seed, None, [])
            name = f"knn_random_s{seed}"
            add(BASELINE, "knn", name, knn, args, name, seed, None)
            name = f"semi10_scratch_s{seed}"
            add(BASELINE, "semi10", name, evaluate, args, SEMI, name, seed, None, semi)
        for method in args.methods:
            marker = osp.join(args.cache_dir, f"pretrain_{method}_s{seed}", "last_checkpoint")
            if TABLE_ONLY and not osp.exists(marker):
                continue
            ckpt = pretrain(args, method, seed)
            tag = f"{method}_s{seed}"
            add(method, "linear", f"linear_{tag}", evaluate, args, LINEAR, f"linear_{tag}",
                seed, ckpt, [])
            add(method, "knn", f"knn_{tag}", knn, args, f"knn_{tag}", seed, ckpt)
            add(method, "semi10", f"semi10_{tag}", evaluate, args, SEMI, f"semi10_{tag}", seed,
                ckpt, semi)
    return rows


def fmt(values: list[float]) -> str:
    if not values:
        return "—"
    return f"{np.mean(values):.1f} ± {np.std(values):.1f} (n={len(values)})"


def command_line(args) -> str:
    flags = (["--small"] if args.small else []) + (
        [f"--pretrain-epochs {args.pretrain_epochs}"] if args.pretrain_epochs else []) + (
        [f"--eval-epochs {args.eval_epochs}"] if args.eval_epochs else []) + [
        "--seeds " + " ".join(map(str, args.seeds))]
    if args.methods != list(METHODS):
        flags.append("--methods " + " ".join(args.methods))
    flags += (["--no-baseline"] if args.no_baseline else []) + (
        ["--merge"] if args.merge else [])
    return "OMP_NUM_THREADS=1 nice -n 10 uv run benchmarks/ssl_msr3d.py " + " ".join(flags)


def merge_previous(args, rows: dict) -> tuple[dict, list[str]]:
    """With ``--merge``: the rows of the existing ``--out`` .json that this run did not
    compute, then this run's, and the commands that made them. The previous table must have
    the same schedules and encoder (else its numbers are not comparable)."""
    command = command_line(args)
    if not args.merge or not osp.exists(args.out + ".json"):
        return rows, [command]
    path = args.out + ".json"
    with open(path) as f:
        prev = json.load(f)
    for key in ("small", "pretrain_epochs", "eval_epochs"):
        if prev["args"].get(key) != getattr(args, key):
            raise ValueError(f"--merge: {path} was made with {key}={prev['args'].get(key)!r}, "
                             f"this run has {getattr(args, key)!r}; rerun with the same flags")
    commands = prev.get("commands") or [command_line(argparse.Namespace(**{
        "methods": list(METHODS), "no_baseline": False, "merge": False, **prev["args"]}))]
    merged = {row: cols for row, cols in prev["rows"].items() if row not in rows}
    merged.update(rows)
    return merged, commands + ([command] if command not in commands else [])


def write(args, rows: dict) -> None:
    rows, commands = merge_previous(args, rows)
    command = "`, then `".join(commands)
    lines = [
        "# Self-supervised pre-training on MSR Action3D (cross-subject)", "",
        f"Command{'s' if len(commands) > 1 else ''}: `{command}`", "",
        f"Seeds {args.seeds}; mean ± std (population) of top-1 test accuracy (%). Encoder: "
        f"the small ST-GCN of `configs/selfsup/` "
        f"({'4 blocks, 16-32 channels (--small)' if args.small else '6 blocks, 16-64 channels'}). "
        f"Pre-training: "
        f"the training subjects without labels, "
        f"{args.pretrain_epochs or 'the configs'} epochs; evaluation schedules: "
        f"{args.eval_epochs or 'the configs'} epochs. Linear: frozen encoder + linear "
        f"classifier on batch-normalised features; k-NN: weighted, k = 20, both splits "
        f"through the test pipeline; 10 % labels: class-balanced draw seeded by the seed "
        f"(36 of the 291 training clips: 1-2 per class), the whole network fine-tuned. "
        f"Test: the 275 clips of the even subjects, 5 sampled clips each."
        + (" --pretrain-epochs / --eval-epochs cut the configs' learning-rate schedules "
           "instead of rescaling them: HiCLR's and HaLP's step at epoch 80 and the cosines "
           "over 60-100 epochs stop part-way (the same for every arm)."
           if args.pretrain_epochs or args.eval_epochs else ""), "",
        "| encoder | linear eval | k-NN | 10 % labels, fine-tuned | papers' NTU-60 xsub "
        "linear eval (different data set) |",
        "|---|---|---|---|---|",
    ]
    for row, cols in rows.items():
        lines.append(f"| {row} | {fmt(cols.get('linear', []))} | {fmt(cols.get('knn', []))} | "
                     f"{fmt(cols.get('semi10', []))} | {PAPERS.get(row, '—')} |")
    lines.append("")
    for ext, text in ((".md", "\n".join(lines)),
                      (".json", json.dumps({"args": vars(args), "commands": commands,
                                            "rows": rows}, indent=1))):
        atomic_write_text(args.out + ext, text)


def main(argv=None) -> None:
    global TABLE_ONLY
    args = parse_args(argv)
    TABLE_ONLY = args.table_only
    rows = collect(args)
    write(args, rows)
    print(open(args.out + ".md").read())


if __name__ == "__main__":
    main()
