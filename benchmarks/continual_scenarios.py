"""Collect the sweeps of the domain-, task-incremental and online continual scenarios into one
table (``benchmarks/results/continual_scenarios.md`` / ``.json``).

Each sweep is made first with ``tools/sweep.py CONFIG --seeds ... --out DIR`` (the command is
kept in its ``sweep.json``); then::

    uv run python benchmarks/continual_scenarios.py NAME=DIR [NAME=DIR ...] \\
        --out benchmarks/results/continual_scenarios

Single runs (``tools/train.py``, a work dir with ``continual_results.json``) are accepted too.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from zoo.engine.atomic_io import atomic_write_bytes

COLUMNS = ("average_accuracy", "forgetting", "backward_transfer", "forward_transfer",
           "learning_accuracy")


def load(path: Path) -> dict:
    """``{'command', 'seeds', 'metrics': {key: (mean, std)}}`` of a sweep dir or a run dir."""
    if (path / "sweep.json").is_file():
        sweep = json.loads((path / "sweep.json").read_text())
        [row] = sweep["rows"]
        return dict(command=sweep["command"], seeds=row["seeds"],
                    metrics={k: (v["mean"], v["std"]) for k, v in row["metrics"].items()
                             if "/" not in k})
    results = path / "continual_results.json"
    if not results.is_file():
        raise FileNotFoundError(f"{path}: neither sweep.json nor continual_results.json")
    r = json.loads(results.read_text())
    dumped = sorted(p.name for p in path.glob("*.py"))  # mmengine dumps the config here
    return dict(command=f"tools/train.py CONFIG --work-dir {path} (config dumped as "
                f"{', '.join(dumped) or 'none'})", seeds=[r["seed"]],
                metrics={k: (v, None) for k, v in r["metrics"].items()},
                accuracy_matrix=r["accuracy_matrix"])


def cell(value, seeds: int) -> str:
    if value is None:
        return "—"
    mean, std = value
    return f"{mean:.1f}" if std is None or seeds < 2 else f"{mean:.1f} ± {std:.1f}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="name=sweep_or_run_dir")
    parser.add_argument("--out", required=True, help="output path without suffix")
    args = parser.parse_args(argv)
    rows = {name: load(Path(d)) for name, d in (item.split("=", 1) for item in args.runs)}
    lines = ["# Continual scenarios: domain-incremental, multi-head task-incremental, online",
             "", "All in %, mean ± std over the seeds (ddof 1). Forward transfer: "
             "mean_{j>0} R[j-1][j] - b_j (b: random-init accuracy).", "",
             "| run | seeds | " + " | ".join(COLUMNS) + " |",
             "|---|---|" + "---:|" * len(COLUMNS)]
    for name, row in rows.items():
        cells = [cell(row["metrics"].get(k), len(row["seeds"])) for k in COLUMNS]
        lines.append(f"| {name} | {','.join(map(str, row['seeds']))} | "
                     + " | ".join(cells) + " |")
    lines += ["", "Commands:", *[f"- {name}: `{row['command']}`" for name, row in rows.items()]]
    out = Path(args.out)
    atomic_write_bytes(out.with_suffix(".json"), json.dumps(rows, indent=2).encode())
    atomic_write_bytes(out.with_suffix(".md"), ("\n".join(lines) + "\n").encode())


if __name__ == "__main__":
    main()
