"""Self-supervised pre-training on MSR Action3D: linear evaluation, k-NN and 10 %-label
fine-tuning of each pre-training method against a random encoder / training from scratch.

For every seed: pre-train with each method's config (``configs/selfsup/*_pretrain.py``, the
training subjects, labels unused), then

* linear evaluation (``stgcn_msr3d_linear.py``) of the pre-trained and of a random encoder;
* weighted k-NN (``tools/ssl_knn.py``, k = 20) of both;
* fine-tuning with a class-balanced 1 % and 10 % of the labels (``stgcn_msr3d_semi1.py``,
  ``stgcn_msr3d_semi10.py``, the label draw seeded by the seed) from the pre-trained encoder
  and from scratch.

``--protocol val`` chooses pre-training hyper-parameters without the test subjects: the
linear classifier and the k-NN memory bank see training subjects 1, 3, 5, 7 and are scored on
the held-out training subject 9 (``stgcn_msr3d_linear_val.py``); the pre-training itself is
the same run as the test protocol's (every training subject, labels unused), so its cached
checkpoint serves both. ``--pretrain-options`` gives a variant of a method its own row and
pre-training folder, e.g. HaLP's mu::

    ... --protocol val --methods HaLP --pretrain-options model.halp_loss.loss_weight=0.5

Every run is a ``tools/train.py`` / ``tools/ssl_knn.py`` process; each finished cell is
cached as JSON in ``--cache-dir`` (a run can be stopped and resumed). The cache is keyed by
method, ``--pretrain-options``, protocol and seed, not by the configs' contents: after editing
a config, remove its cells and pre-training folders (or use another ``--cache-dir``). The
table (mean ± std over seeds) goes to ``benchmarks/results/ssl_msr3d.md`` and ``.json``.

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
LINEAR_VAL = "configs/selfsup/stgcn_msr3d_linear_val.py"
SEMI = {"semi1": "configs/selfsup/stgcn_msr3d_semi1.py",
        "semi10": "configs/selfsup/stgcn_msr3d_semi10.py"}
# Papers' NTU-60 cross-subject linear evaluation (a different, 40x larger data set).
PAPERS = {"HiCLR": "77.3 (joint, GCN; official repository README, JHang2020/HiCLR)",
          "HaLP": "not quoted (the paper's table could not be checked from here; "
                  "no number in the official README)",
          "SkeletonMAE-style": "not quoted (the official repository holds a README only; "
                               "the paper's table could not be checked from here)"}
BASELINE = "random encoder / scratch"
TOP1 = re.compile(r"Final test: .*top1: ([0-9.]+)")
KNN = re.compile(r"k-NN \(k=\d+\) top-1: ([0-9.]+)")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    p.add_argument("--protocol", choices=("test", "val"), default="test",
                   help="test: the even subjects (report once); val: held-out training "
                        "subject 9, linear and k-NN only (for choosing hyper-parameters)")
    p.add_argument("--pretrain-options", nargs="+", default=[], metavar="KEY=VALUE",
                   help="--cfg-options for the methods' pre-training; the rows are named "
                        "'<method> (<options>)' and pre-trained in their own folders")
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
    p.add_argument("--out", default=None,
                   help="default: benchmarks/results/ssl_msr3d (test) or ssl_msr3d_val (val)")
    args = p.parse_args(argv)
    if args.out is None:
        args.out = osp.join(ROOT, "benchmarks", "results",
                            "ssl_msr3d" + ("_val" if args.protocol == "val" else ""))
    return args


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


def variant(args, method: str) -> tuple[str, str]:
    """The table row and the folder tag of ``method`` with ``--pretrain-options``."""
    if not args.pretrain_options:
        return method, method
    options = " ".join(args.pretrain_options)
    return f"{method} ({options})", method + "_" + re.sub(r"[^A-Za-z0-9.=-]+", "_", options)


def pretrain(args, method: str, seed: int) -> str:
    name = f"pretrain_{variant(args, method)[1]}_s{seed}"
    ckpt = osp.join(args.cache_dir, name, "last_checkpoint")
    if not osp.exists(ckpt):
        opts = [f"randomness.seed={seed}", f"data_root={args.data_root}",
                *schedule(args.pretrain_epochs), *encoder(args, METHODS[method]),
                *args.pretrain_options]
        run(["tools/train.py", METHODS[method], "--work-dir", osp.join(args.cache_dir, name),
             "--no-test", "--cfg-options", *opts], osp.join(args.cache_dir, name + ".log"))
    with open(ckpt) as f:
        return f.read().strip()


def evaluate(args, config: str, name: str, seed: int, load_from: str | None,
             extra: list[str]) -> float:
    opts = [f"randomness.seed={seed}", f"load_from={load_from}", f"data_root={args.data_root}",
            *extra,
            *schedule(args.eval_epochs), *encoder(args)]
    out = run(["tools/train.py", config, "--work-dir", osp.join(args.cache_dir, name),
               "--cfg-options", *opts], osp.join(args.cache_dir, name + ".log"))
    return float(TOP1.findall(out)[-1])


def knn(args, name: str, seed: int, load_from: str | None) -> float:
    data = [f"data_root={args.data_root}", f"randomness.seed={seed}", *encoder(args)]
    cmd = ["tools/ssl_knn.py", linear_config(args)] + ([load_from] if load_from else [])
    out = run(cmd + ["--work-dir", osp.join(args.cache_dir, name), "--cfg-options", *data],
              osp.join(args.cache_dir, name + ".log"))
    return float(KNN.findall(out)[-1])


def linear_config(args) -> str:
    return LINEAR_VAL if args.protocol == "val" else LINEAR


def collect(args) -> dict:
    os.makedirs(args.cache_dir, exist_ok=True)
    rows: dict[str, dict[str, list[float]]] = {}

    def add(row, col, name, compute, *cargs):
        try:
            value = cell(args.cache_dir, name, compute, *cargs)
        except Missing:
            return
        rows.setdefault(row, {}).setdefault(col, []).append(value)

    val = args.protocol == "val"
    pre = "val_" if val else ""  # cache names of the evaluation cells
    linear = linear_config(args)
    semis = {} if val else SEMI
    for seed in args.seeds:
        label_draw = [f"train_dataloader.dataset.label_seed={seed}"]
        if not args.no_baseline:
            name = f"{pre}linear_random_s{seed}"
            add(BASELINE, "linear", name, evaluate, args, linear, name, seed, None, [])
            name = f"{pre}knn_random_s{seed}"
            add(BASELINE, "knn", name, knn, args, name, seed, None)
            for col, config in semis.items():
                name = f"{col}_scratch_s{seed}"
                add(BASELINE, col, name, evaluate, args, config, name, seed, None, label_draw)
        for method in args.methods:
            row, folder = variant(args, method)
            marker = osp.join(args.cache_dir, f"pretrain_{folder}_s{seed}", "last_checkpoint")
            if TABLE_ONLY and not osp.exists(marker):
                continue
            ckpt = pretrain(args, method, seed)
            tag = f"{folder}_s{seed}"
            add(row, "linear", f"{pre}linear_{tag}", evaluate, args, linear,
                f"{pre}linear_{tag}", seed, ckpt, [])
            add(row, "knn", f"{pre}knn_{tag}", knn, args, f"{pre}knn_{tag}", seed, ckpt)
            for col, config in semis.items():
                add(row, col, f"{col}_{tag}", evaluate, args, config, f"{col}_{tag}", seed,
                    ckpt, label_draw)
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
    if args.protocol != "test":
        flags.append(f"--protocol {args.protocol}")
    if args.methods != list(METHODS):
        flags.append("--methods " + " ".join(args.methods))
    if args.pretrain_options:
        flags.append("--pretrain-options " + " ".join(args.pretrain_options))
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
    for key in ("small", "pretrain_epochs", "eval_epochs", "protocol"):
        if prev["args"].get(key, "test") != getattr(args, key):
            raise ValueError(f"--merge: {path} was made with {key}={prev['args'].get(key)!r}, "
                             f"this run has {getattr(args, key)!r}; rerun with the same flags")
    commands = prev.get("commands") or [command_line(argparse.Namespace(**{
        "methods": list(METHODS), "no_baseline": False, "merge": False, "protocol": "test",
        "pretrain_options": [], **prev["args"]}))]
    merged = {row: cols for row, cols in prev["rows"].items() if row not in rows}
    merged.update(rows)
    return merged, commands + ([command] if command not in commands else [])


def epochs(n: int | None) -> str:
    return f"{n} epochs" if n else "the configs' schedules"


COLUMNS = {"linear": "linear eval", "knn": "k-NN", "semi1": "1 % labels, fine-tuned",
           "semi10": "10 % labels, fine-tuned"}


def write(args, rows: dict) -> None:
    rows, commands = merge_previous(args, rows)
    command = "`, then `".join(commands)
    val = args.protocol == "val"
    columns = ["linear", "knn"] if val else list(COLUMNS)
    split = ("held-out training subject 9 (validation: the classifier / k-NN memory bank "
             "see subjects 1, 3, 5, 7; the test subjects are not read)" if val else
             "the 275 clips of the even subjects")
    lines = [
        "# Self-supervised pre-training on MSR Action3D (cross-subject"
        + (", validation protocol)" if val else ")"), "",
        f"Command{'s' if len(commands) > 1 else ''}: `{command}`", "",
        f"Seeds {args.seeds}; mean ± std (population) of top-1 accuracy (%) on {split}, "
        f"5 sampled clips each. Encoder: the ST-GCN of `configs/selfsup/` "
        f"({'4 blocks, 16-32 channels (--small)' if args.small else '6 blocks, 16-64 channels'}). "
        f"Pre-training: the training subjects without labels, "
        f"{epochs(args.pretrain_epochs)}; evaluation schedules: "
        f"{epochs(args.eval_epochs)}. Linear: frozen encoder + linear "
        f"classifier on batch-normalised features; k-NN: weighted, k = 20, both splits "
        f"through the test pipeline"
        + ("" if val else "; 1 % / 10 % labels: class-balanced draws seeded by the seed "
           "(20 / 36 of the 291 training clips: 1 / 1-2 per class), the whole network "
           "fine-tuned")
        + "."
        + (" --pretrain-epochs / --eval-epochs cut the configs' learning-rate schedules "
           "instead of rescaling them: HiCLR's and HaLP's step at epoch 80 and the cosines "
           "over 60-100 epochs stop part-way (the same for every arm)."
           if args.pretrain_epochs or args.eval_epochs else ""), "",
        "| encoder | " + " | ".join(COLUMNS[c] for c in columns)
        + ("" if val else " | papers' NTU-60 xsub linear eval (different data set)") + " |",
        "|---" * (len(columns) + 1 + (not val)) + "|",
    ]
    for row, cols in rows.items():
        cells = [fmt(cols.get(c, [])) for c in columns]
        if not val:
            cells.append(PAPERS.get(row, "—"))
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
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
