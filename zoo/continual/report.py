"""Collect the ``continual_results.json`` of several runs into one table (Markdown + JSON).

``uv run python -m zoo.continual.report --title "Split digits" --out
benchmarks/results/continual_digits name=WORK_DIR [name=WORK_DIR ...]``
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from zoo.engine.atomic_io import atomic_write_bytes


def family_of(result: dict) -> str:
    """The ``family`` attribute of the strategy class that wrote a ``continual_results.json``
    (found by the config's ``type``, else by the strategy's name), ``'other'`` if unknown."""
    from zoo.registry import STRATEGIES

    cfg = result.get("strategy_cfg") or {}
    cls = STRATEGIES.get(cfg.get("type") or result["strategy"])
    return getattr(cls, "family", "other") if cls is not None else "other"


def collect(runs: dict[str, str | Path]) -> list[dict]:
    """One row per run: metrics (class- and task-incremental), wall time, matrix."""
    rows = []
    for name, work_dir in runs.items():
        path = Path(work_dir) / "continual_results.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist (run {name!r} did not finish)")
        r = json.loads(path.read_text())
        if not r["metrics"]:
            raise ValueError(f"{path}: no finished task")
        rows.append(dict(
            run=name, strategy=r["strategy"], family=family_of(r),
            **{k: round(v, 2) for k, v in r["metrics"].items()},
            task_aware_average_accuracy=round(r["task_aware_metrics"]["average_accuracy"], 2),
            task_aware_forgetting=round(r["task_aware_metrics"]["forgetting"], 2),
            train_seconds=round(sum(r["task_train_seconds"]), 1),
            epochs_per_task=r["epochs_per_task"], accuracy_matrix=r["accuracy_matrix"],
            strategy_cfg=r.get("strategy_cfg"),
        ))
    return rows


def order_check(rows: list[dict]) -> dict:
    """Is ``joint > replay > regularisation > fine-tune`` in average accuracy? Compares every
    pair of families (best and worst member) and lists the inversions."""
    by_family: dict[str, list[dict]] = {}
    for row in rows:
        by_family.setdefault(row["family"], []).append(row)
    chain = ["upper bound", "replay", "regularisation", "lower bound"]
    inversions = []
    for i, upper in enumerate(chain):
        for lower in chain[i + 1:]:
            for a in by_family.get(upper, []):
                for b in by_family.get(lower, []):
                    if a["average_accuracy"] <= b["average_accuracy"]:
                        inversions.append(f"{a['run']} ({upper}, {a['average_accuracy']}) <= "
                                          f"{b['run']} ({lower}, {b['average_accuracy']})")
    means = {f: round(sum(r["average_accuracy"] for r in rs) / len(rs), 2)
             for f, rs in by_family.items()}
    return dict(family_mean_average_accuracy=means, inversions=inversions,
                expected_order_holds=not inversions)


def markdown(rows: list[dict], title: str, check: dict, notes: str = "") -> str:
    lines = [f"# {title}", "", notes, "",
             ("| run | family | avg acc | avg incr acc | forgetting | BWT | task-aware avg acc "
              "| train s |"),
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in sorted(rows, key=lambda r: -r["average_accuracy"]):
        lines.append(f"| {r['run']} | {r['family']} | {r['average_accuracy']:.1f} | "
                     f"{r['average_incremental_accuracy']:.1f} | {r['forgetting']:.1f} | "
                     f"{r['backward_transfer']:.1f} | {r['task_aware_average_accuracy']:.1f} | "
                     f"{r['train_seconds']:.0f} |")
    lines += ["", "Expected order joint > replay > regularisation > fine-tune (average accuracy): "
              + ("holds" if check["expected_order_holds"] else "does NOT hold"),
              "", "Family means: " + ", ".join(f"{k} {v}" for k, v in
                                              check["family_mean_average_accuracy"].items())]
    if check["inversions"]:
        lines += ["", "Inversions:", *[f"- {s}" for s in check["inversions"]]]
    return "\n".join(lines) + "\n"


def write(rows: list[dict], out: str | Path, title: str, notes: str = "",
          extra: dict | None = None) -> dict:
    """Write ``out.md`` and ``out.json`` atomically; return the JSON payload."""
    check = order_check(rows)
    payload = dict(title=title, notes=notes, rows=rows, order_check=check, **(extra or {}))
    out = Path(out)
    atomic_write_bytes(out.with_suffix(".json"), json.dumps(payload, indent=2).encode())
    atomic_write_bytes(out.with_suffix(".md"), markdown(rows, title, check, notes).encode())
    return payload


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="name=work_dir pairs")
    parser.add_argument("--out", required=True, help="output path without suffix")
    parser.add_argument("--title", default="Continual learning results")
    parser.add_argument("--notes", default="")
    args = parser.parse_args(argv)
    runs = dict(item.split("=", 1) for item in args.runs)
    write(collect(runs), args.out, args.title, args.notes)


if __name__ == "__main__":
    main()
