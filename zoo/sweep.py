"""Run a training config over seeds and a grid of ``--cfg-options``; one mean ± std table.

Every run is ``tools/train.py CONFIG --work-dir OUT/runs/<point>/seed<S> --cfg-options
randomness.seed=S <grid values> <fixed options>`` in its own process (``jobs`` at a time).
The outcome of a run is read from its work dir: ``continual_results.json`` when the config
trains with :class:`~zoo.continual.loop.ContinualTrainLoop` (its ``metrics`` and, prefixed
``task_aware/``, its ``task_aware_metrics``), else the final test metrics that
``tools/train.py`` returns (written by the worker to ``final_test_metrics.json``). Numeric
metrics of the runs of one grid point are summarised as mean, sample standard deviation
(``ddof=1``; 0 for one run) and count, and written to ``OUT/sweep.json`` and
``OUT/sweep.md`` (atomically), with every run's values, command and status.
"""
from __future__ import annotations

import itertools
import json
import math
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from zoo.engine.atomic_io import atomic_write_bytes

CONTINUAL_RESULTS = "continual_results.json"
FINAL_METRICS = "final_test_metrics.json"


def split_values(text: str) -> list[str]:
    """``'1,2,(3,4)'`` -> ``['1', '2', '(3,4)']``: commas inside brackets or quotes stay."""
    values, depth, quote, current = [], 0, None, ""
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            values.append(current)
            current = ""
            continue
        current += ch
    values.append(current)
    if any(v == "" for v in values):
        raise ValueError(f"--grid values {text!r} contain an empty value")
    return values


def parse_grid(items: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``['a.b=1,2', 'c=x']`` -> ``[('a.b', ['1', '2']), ('c', ['x'])]``."""
    grid = []
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key or not values:
            raise ValueError(f"--grid item {item!r} is not KEY=V1,V2,...")
        if any(k == key for k, _ in grid):
            raise ValueError(f"--grid names {key!r} twice")
        grid.append((key, split_values(values)))
    return grid


def grid_points(grid: list[tuple[str, list[str]]]) -> list[dict[str, str]]:
    """The Cartesian product of the grid (one empty point without a grid)."""
    keys = [k for k, _ in grid]
    return [dict(zip(keys, combo)) for combo in itertools.product(*[v for _, v in grid])]


def point_name(point: dict[str, str]) -> str:
    """A folder-safe name of a grid point: ``lambda_=1e4`` -> ``lambda_-1e4``; keys are
    shortened to their last component; ``default`` without a grid."""
    if not point:
        return "default"
    parts = [f"{k.rsplit('.', 1)[-1]}-{v}" for k, v in point.items()]
    return re.sub(r"[^A-Za-z0-9_.=+-]+", "_", "_".join(parts))


def read_run_metrics(work_dir: str | Path) -> dict[str, float]:
    """Numeric final metrics of one finished run (see the module docstring); raises
    ``FileNotFoundError`` naming the work dir when neither file is there."""
    work_dir = Path(work_dir)
    continual = work_dir / CONTINUAL_RESULTS
    if continual.is_file():
        results = json.loads(continual.read_text())
        if not results.get("metrics"):
            raise ValueError(f"{continual}: no finished task")
        metrics = dict(results["metrics"])
        metrics.update({f"task_aware/{k}": v
                        for k, v in (results.get("task_aware_metrics") or {}).items()})
    elif (work_dir / FINAL_METRICS).is_file():
        metrics = json.loads((work_dir / FINAL_METRICS).read_text())
    else:
        raise FileNotFoundError(f"{work_dir} holds neither {CONTINUAL_RESULTS} nor "
                                f"{FINAL_METRICS}: the run did not finish")
    return {k: float(v) for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def summarise(values: Sequence[float]) -> dict:
    """Mean, sample standard deviation (ddof 1; 0 for one value) and count."""
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return dict(mean=mean, std=std, n=n)


def aggregate(runs: list[dict]) -> list[dict]:
    """One row per grid point: the summary of every metric over its successful runs."""
    rows = []
    for name in dict.fromkeys(r["point_name"] for r in runs):
        mine = [r for r in runs if r["point_name"] == name]
        ok = [r for r in mine if r["status"] == "ok"]
        keys = list(dict.fromkeys(k for r in ok for k in r["metrics"]))
        rows.append(dict(
            point=name, options=mine[0]["point"], seeds=[r["seed"] for r in ok],
            failed_seeds=[r["seed"] for r in mine if r["status"] != "ok"],
            metrics={k: summarise([r["metrics"][k] for r in ok if k in r["metrics"]])
                     for k in keys}))
    return rows


def markdown(rows: list[dict], title: str, command: str, metrics: Sequence[str] | None) -> str:
    keys = list(metrics) if metrics else list(dict.fromkeys(
        k for row in rows for k in row["metrics"]))
    lines = [f"# {title}", "", f"Command: `{command}`", "",
             "mean ± std over seeds (std with ddof 1; n = successful runs)", "",
             "| point | seeds | " + " | ".join(keys) + " |",
             "|---|---|" + "---:|" * len(keys)]
    for row in rows:
        cells = []
        for k in keys:
            s = row["metrics"].get(k)
            cells.append("–" if s is None else f"{s['mean']:.2f} ± {s['std']:.2f}")
        seeds = ",".join(map(str, row["seeds"])) or "none"
        if row["failed_seeds"]:
            seeds += " (failed: " + ",".join(map(str, row["failed_seeds"])) + ")"
        lines.append(f"| {row['point']} | {seeds} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_table(out: str | Path, payload: dict, md: str) -> None:
    out = Path(out)
    atomic_write_bytes(out / "sweep.json", json.dumps(payload, indent=2).encode())
    atomic_write_bytes(out / "sweep.md", md.encode())


def plan_runs(config: str, seeds: Sequence[int], grid: list[tuple[str, list[str]]],
              out: Path, cfg_options: Sequence[str] = ()) -> list[dict]:
    runs = []
    for point in grid_points(grid):
        name = point_name(point)
        for seed in seeds:
            work_dir = out / "runs" / name / f"seed{seed}"
            options = [f"randomness.seed={seed}", *cfg_options,
                       *[f"{k}={v}" for k, v in point.items()]]
            log = out / "logs" / f"{name}_seed{seed}.log"
            runs.append(dict(point=point, point_name=name, seed=int(seed),
                             work_dir=str(work_dir), log=str(log),
                             args=[config, "--work-dir", str(work_dir), "--cfg-options",
                                   *options]))
    names = [r["point_name"] for r in runs]
    if len(set(names)) * len(seeds) != len(names):
        raise ValueError("two grid points map to the same folder name; use distinct values")
    return runs


def _execute(run: dict, train_script: str, reuse: bool, env: dict) -> dict:
    work_dir = Path(run["work_dir"])
    if reuse:
        try:
            return {**run, "status": "ok", "reused": True,
                    "metrics": read_run_metrics(work_dir), "seconds": 0.0}
        except (FileNotFoundError, ValueError):
            pass
    Path(run["log"]).parent.mkdir(parents=True, exist_ok=True)
    args = list(run["args"])
    if reuse and work_dir.is_dir() and any(work_dir.iterdir()):
        # an unfinished earlier try: tools/train.py refuses a used work dir unless told to
        # move the old run aside (it is kept as WORK_DIR_old_<time>)
        args.insert(args.index("--cfg-options"), "--move-old-run")
    cmd = [sys.executable, "-c", WORKER, train_script, *args]
    start = time.perf_counter()
    with open(run["log"], "w") as log:
        rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    seconds = round(time.perf_counter() - start, 1)
    try:
        metrics = read_run_metrics(work_dir) if rc == 0 else None
    except (FileNotFoundError, ValueError) as exc:
        metrics, rc = None, rc or 1
        with open(run["log"], "a") as log:
            log.write(f"\nsweep: {exc}\n")
    status = "ok" if rc == 0 and metrics is not None else f"failed (exit {rc})"
    return {**run, "args": args, "status": status, "metrics": metrics or {},
            "seconds": seconds}


def run_sweep(config: str, seeds: Sequence[int] = (0,), grid: Sequence[str] = (),
              jobs: int = 1, out: str | Path = "work_dirs/sweep",
              cfg_options: Sequence[str] = (), train_script: str | None = None,
              reuse: bool = False, title: str | None = None,
              metrics: Sequence[str] | None = None) -> dict:
    """Run the sweep and write ``out/sweep.json`` and ``out/sweep.md``; returns the JSON
    payload. ``reuse`` keeps runs whose work dir already holds results; otherwise a work dir
    that exists and is not empty is an error (before anything runs)."""
    if not Path(config).is_file():
        raise FileNotFoundError(f"config file {config} does not exist")
    if jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {jobs}")
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds must be distinct and non-empty, got {list(seeds)}")
    out = Path(out)
    train_script = train_script or str(Path(__file__).resolve().parents[1] / "tools/train.py")
    runs = plan_runs(config, seeds, parse_grid(grid), out, cfg_options)
    if not reuse:
        busy = [r["work_dir"] for r in runs
                if Path(r["work_dir"]).is_dir() and any(Path(r["work_dir"]).iterdir())]
        if busy:
            raise FileExistsError(f"work dirs already hold files: {busy[:3]}...; choose another "
                                  "--out or pass --reuse to keep finished runs")
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        done = list(pool.map(lambda r: _execute(r, train_script, reuse, env), runs))
    command = shlex.join(["tools/sweep.py", config, "--seeds", *map(str, seeds),
                        *(["--grid", *grid] if grid else []),
                        *(["--cfg-options", *cfg_options] if cfg_options else []),
                        "--jobs", str(jobs), "--out", str(out)])
    rows = aggregate(done)
    payload = dict(config=config, command=command, seeds=list(seeds), grid=list(grid),
                   cfg_options=list(cfg_options), rows=rows,
                   runs=[{k: r[k] for k in ("point_name", "point", "seed", "work_dir", "log",
                                            "status", "seconds", "metrics", "args")}
                         for r in done])
    write_table(out, payload, markdown(rows, title or f"Sweep of {config}", command, metrics))
    return payload


# ``tools/train.py``'s ``main`` in the run's process, its returned test metrics written to the
# work dir. Inline (``python -c``) so that the worker imports nothing of its own before
# train.py does (a stand-in train script in the tests starts in a second, not in ten).
WORKER = """
import importlib.util, json, sys
from pathlib import Path
script, args = sys.argv[1], sys.argv[2:]
spec = importlib.util.spec_from_file_location("zoo_sweep_train", script)
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)
metrics = tool.main(args) or {}
numeric = {k: float(v) for k, v in metrics.items()
           if isinstance(v, (int, float)) and not isinstance(v, bool)}
if numeric:
    from zoo.engine.atomic_io import atomic_write_bytes
    work_dir = Path(args[args.index("--work-dir") + 1])
    atomic_write_bytes(work_dir / "%s", json.dumps(numeric, indent=2).encode())
""" % FINAL_METRICS
