"""Collect the Mammoth-style sequential protocol runs on split digits into one table
(``benchmarks/results/continual_mammoth_protocol.md`` / ``.json``), with the DER paper's
published seq-CIFAR-10 numbers in a separate column.

Each method is a sweep made first with::

    OMP_NUM_THREADS=1 nice -n 10 uv run tools/sweep.py \\
        configs/continual/seq_digits_mammoth/METHOD.py --seeds 0 1 2 --jobs 1 --out DIR/METHOD

then::

    uv run python benchmarks/continual_mammoth_protocol.py DIR \\
        --out benchmarks/results/continual_mammoth_protocol

The runs are read from ``DIR/METHOD/runs/default/seed*/continual_results.json`` (finished
runs only: a sweep cut short still gives its finished seeds, and the table says how many).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from zoo.fileio import atomic_write_bytes

METHODS = ("joint", "sgd", "er", "der", "derpp", "agem", "icarl", "gem", "xder")
LABELS = {"joint": "Joint", "sgd": "SGD (fine-tune)", "er": "ER", "der": "DER",
          "derpp": "DER++", "agem": "A-GEM", "icarl": "iCaRL", "gem": "GEM", "xder": "X-DER"}

# Quoted, not measured: the "Continual Learning Results" table of aimagelab/mammoth's
# README.md at its first commit 7ab9db9 (2020-10-05), the DER paper's (Buzzega et al.,
# NeurIPS 2020) results on S-CIFAR-10, buffer 200 and 500 (joint and SGD take no buffer).
# (class-IL, task-IL); None: no entry there (X-DER is a later paper).
PUBLISHED_SOURCE = ("aimagelab/mammoth README.md at commit 7ab9db9 (2020-10-05), table "
                    "'Continual Learning Results', S-CIFAR-10 columns")
PUBLISHED = {
    200: {"joint": (92.20, 98.31), "sgd": (19.62, 61.02), "er": (44.79, 91.19),
          "gem": (25.54, 90.44), "agem": (20.04, 83.88), "icarl": (49.02, 88.99),
          "der": (61.93, 91.40), "derpp": (64.88, 91.92), "xder": None},
    500: {"joint": (92.20, 98.31), "sgd": (19.62, 61.02), "er": (57.74, 93.61),
          "gem": (26.20, 92.16), "agem": (22.67, 89.48), "icarl": (47.55, 88.22),
          "der": (70.51, 93.40), "derpp": (72.70, 93.88), "xder": None},
}


def load_runs(sweep_dir: Path) -> list[dict]:
    """The finished runs of one sweep: seed, metrics and train seconds of each."""
    runs = []
    for path in sorted(sweep_dir.glob("runs/default/seed*/continual_results.json")):
        r = json.loads(path.read_text())
        num_tasks = len(r["scenario"]["task_classes"])
        if len(r.get("task_train_seconds") or []) < num_tasks:
            continue  # written after every task: a run still going (or cut) has fewer
        runs.append(dict(seed=int(r["seed"]), num_tasks=num_tasks,
                         average_accuracy=r["metrics"]["average_accuracy"],
                         forgetting=r["metrics"].get("forgetting"),
                         task_aware_average_accuracy=r["task_aware_metrics"]["average_accuracy"],
                         train_seconds=round(sum(r["task_train_seconds"]), 1),
                         final_row=r["accuracy_matrix"][-1]))
    return runs


def mean_std(values: list[float]) -> tuple[float, float | None]:
    v = np.asarray(values, dtype=float)
    return float(v.mean()), (float(v.std(ddof=1)) if len(v) > 1 else None)


def cell(values: list[float]) -> str:
    if not values:
        return "—"
    mean, std = mean_std(values)
    return f"{mean:.1f}" if std is None else f"{mean:.1f} ± {std:.1f}"


def published_cell(name: str, buffer: int, which: int) -> str:
    value = PUBLISHED[buffer].get(name)
    return "—" if value is None else f"{value[which]:.2f}"


def summarise(root: Path) -> dict:
    rows = {}
    for name in METHODS:
        if not (root / name).is_dir():
            continue
        runs = load_runs(root / name)
        if not runs:
            continue
        one_task = runs[0]["num_tasks"] == 1  # joint: one task of all classes (Mammoth's)
        rows[name] = dict(
            seeds=[r["seed"] for r in runs], runs=runs,
            average_accuracy=mean_std([r["average_accuracy"] for r in runs]),
            task_aware_average_accuracy=None if one_task else mean_std(
                [r["task_aware_average_accuracy"] for r in runs]),
            forgetting=None if one_task else mean_std([r["forgetting"] for r in runs]),
            train_seconds_mean=float(np.mean([r["train_seconds"] for r in runs])))
    return rows


def markdown(rows: dict, command: str) -> str:
    lines = [
        "# Mammoth-style sequential protocol on split digits, beside the DER paper's "
        "seq-CIFAR-10", "",
        "Split digits (scikit-learn 8x8 digits, 1347 training / 450 test images, 5 tasks x 2 "
        "classes in the order 0-1, ..., 8-9), class-incremental, in Mammoth's seq-cifar10 "
        "protocol: Mammoth's ResNet-18 (1-channel stem), 50 epochs per task, batch 32, "
        "buffer 200, replay minibatch 32, plain SGD with Mammoth's per-method lr, no "
        "schedule, random crop (padding 1) + normalisation, buffers re-augmented at every "
        "replay (configs/continual/seq_digits_mammoth/, every departure stated there).", "",
        "Measured columns: final average accuracy over the 5 tasks in % (class-IL: arg-max "
        "over the seen classes; task-IL: arg-max within the sample's task, Mammoth's "
        "`mask_classes`), mean ± std over the seeds (ddof 1). Joint is Mammoth's: one network "
        "trained on all tasks' data after the last task (here one 10-class task), so it has "
        "no task-IL number.", "",
        "| method | seeds | class-IL avg acc | task-IL avg acc | forgetting (class-IL) | "
        "train s / run | **different data set (CIFAR-10, 32x32 RGB, 10k images per task)**: "
        "DER paper class-IL, buffer 200 | task-IL, 200 | class-IL, 500 | task-IL, 500 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, row in rows.items():
        ta = row["task_aware_average_accuracy"]
        fg = row["forgetting"]
        lines.append(
            f"| {LABELS[name]} | {len(row['seeds'])} ({', '.join(map(str, row['seeds']))}) | "
            f"{cell([r['average_accuracy'] for r in row['runs']])} | "
            + ("—" if ta is None else cell([r["task_aware_average_accuracy"]
                                           for r in row["runs"]])) + " | "
            + ("—" if fg is None else cell([r["forgetting"] for r in row["runs"]])) + " | "
            f"{row['train_seconds_mean']:.0f} | {published_cell(name, 200, 0)} | "
            f"{published_cell(name, 200, 1)} | {published_cell(name, 500, 0)} | "
            f"{published_cell(name, 500, 1)} |")
    lines += ["", f"Published column source: {PUBLISHED_SOURCE} (quoted, not re-run here; "
              "Joint and SGD have no buffer, the same number in both buffer columns).", "",
              "Runs: `OMP_NUM_THREADS=1 nice -n 10 uv run tools/sweep.py "
              "configs/continual/seq_digits_mammoth/METHOD.py --seeds 0 1 2 --jobs 1 --out "
              "ROOT/METHOD`, one run at a time, one thread, on a 2-core CPU shared with other "
              "jobs (train s / run: the sum of the tasks' training times, load-dependent). A "
              "method with fewer than 3 seeds was stopped before its other seeds finished; "
              "methods with no row were not run.", "",
              f"Table command: `{command}`"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="folder holding one sweep folder per method")
    parser.add_argument("--out", required=True, help="output path without suffix")
    args = parser.parse_args(argv)
    root = Path(args.root)
    rows = summarise(root)
    if not rows:
        raise SystemExit(f"{root}: no finished run in any of {', '.join(METHODS)}")
    command = ("uv run python benchmarks/continual_mammoth_protocol.py "
               f"{args.root} --out {args.out}")
    sweeps = {name: json.loads((root / name / "sweep.json").read_text())["command"]
              for name in rows if (root / name / "sweep.json").is_file()}
    payload = dict(rows=rows, published=dict(source=PUBLISHED_SOURCE, values={
        str(b): v for b, v in PUBLISHED.items()}), sweep_commands=sweeps, command=command)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out.with_suffix(".json"), json.dumps(payload, indent=1).encode())
    atomic_write_bytes(out.with_suffix(".md"), markdown(rows, command).encode())
    print(markdown(rows, command))


if __name__ == "__main__":
    main()
