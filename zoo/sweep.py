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

Next to them, every run's validation curve (the ``Epoch(val)`` scalars mmengine writes to
``WORK_DIR/<time>/vis_data/scalars.json``, or its ``.log`` where there are none) gives
``val/<metric>`` (the last validation, i.e. the final weights), ``val/best_<metric>`` (the
highest) and ``val/best_<metric>_step`` (its epoch). ``select`` ranks the grid points on the
mean of one ``val/`` metric; ``final_cfg_options`` then runs the selected point once more with
those options (e.g. training on the held-out subjects too) and reports its test metrics:
tuning on validation and one test report in a single command. Selection on a test metric, or
on a validation loader that is the test loader, is refused.
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
VAL = "val/"
# per-iteration bookkeeping in the validation scalars, not metrics
_NOT_METRICS = frozenset({"step", "time", "data_time", "epoch", "iter", "memory"})
_CONTINUAL_PREFIX = "continual/"  # zoo.continual.results.AccuracyRecord.scalars
_SESSION = re.compile(r"\d{8}_\d{6}")  # mmengine's per-session folder: <date>_<time>
_VAL_LOG_LINE = re.compile(r"Epoch\(val\)\s*\[(\d+)\]\[\d+/\d+\]\s+(.*)$")


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
    numeric = {k: float(v) for k, v in metrics.items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
    numeric.update(val_metrics(read_val_curve(work_dir)))
    return numeric


def _val_curve_from_scalars(path: Path) -> list[dict]:
    curve = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}, line {n}: not JSON ({exc})") from None
        # the continual loop's per-task results (test split) are not validation metrics
        record = {k: v for k, v in record.items() if not k.startswith(_CONTINUAL_PREFIX)}
        # training records carry the learning rate and the loss; validation ones do not
        if ("step" in record and len(record) > 1 and "lr" not in record
                and not any("loss" in k for k in record)):
            curve.append(record)
    return curve


def _val_curve_from_log(path: Path) -> list[dict]:
    curve = []
    for line in path.read_text(errors="replace").splitlines():
        match = _VAL_LOG_LINE.search(line)
        if match:
            pairs = re.findall(r"(\S+): (-?[\d.]+(?:e[-+]?\d+)?)", match.group(2))
            curve.append({"step": int(match.group(1)), **{k: float(v) for k, v in pairs}})
    return curve


def read_val_curve(work_dir: str | Path) -> list[dict]:
    """The validation records of a run, in order: one dict per validation with its ``step``
    (epoch, or iteration for iteration-based loops) and metrics. Every mmengine session in
    the work dir counts (a resumed run continues its curve; a repeated step keeps the later
    value); a session without ``vis_data/scalars.json`` is read from its ``.log``."""
    by_step: dict[int, dict] = {}
    sessions = [p for p in Path(work_dir).glob("*") if p.is_dir() and _SESSION.fullmatch(p.name)]
    for session in sorted(sessions):
        scalars = session / "vis_data" / "scalars.json"
        logs = sorted(session.glob("*.log"))
        if scalars.is_file():
            curve = _val_curve_from_scalars(scalars)
        elif logs:
            curve = _val_curve_from_log(logs[-1])
        else:
            continue
        for record in curve:
            by_step[int(record["step"])] = record
    return [by_step[k] for k in sorted(by_step)]


def val_metrics(curve: list[dict]) -> dict[str, float]:
    """``val/<k>`` (last validation), ``val/best_<k>`` (highest) and ``val/best_<k>_step``
    for every numeric metric ``k`` of the curve. "Best" is the highest value: the rule of
    accuracies and of mmengine's ``save_best`` default; rank lower-is-better metrics on
    ``val/<k>`` or the curve itself."""
    out: dict[str, float] = {}
    keys = dict.fromkeys(k for r in curve for k, v in r.items()
                         if k not in _NOT_METRICS and isinstance(v, (int, float))
                         and not isinstance(v, bool))
    for k in keys:
        points = [(float(r[k]), int(r["step"])) for r in curve if k in r]
        out[f"{VAL}{k}"] = points[-1][0]
        best, step = max(points, key=lambda p: p[0])  # first of equal values
        out[f"{VAL}best_{k}"] = best
        out[f"{VAL}best_{k}_step"] = float(step)
    return out


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


def select_point(rows: list[dict], key: str, rule: str = "greater") -> dict:
    """The row whose mean of ``key`` is best (``rule`` 'greater' or 'less'; the first of equal
    means). Only validation metrics (``val/...``) may choose: a choice made on test metrics
    would make the reported test number optimistic."""
    if not key.startswith(VAL):
        raise ValueError(f"--select {key!r}: choose on a validation metric ({VAL}...), never on "
                         "the test split")
    if rule not in ("greater", "less"):
        raise ValueError(f"--select-rule must be 'greater' or 'less', got {rule!r}")
    ranked = [r for r in rows if key in r["metrics"]]
    if not ranked:
        known = sorted({k for r in rows for k in r["metrics"] if k.startswith(VAL)})
        raise ValueError(f"--select {key!r}: no successful run reported it; validation metrics "
                         f"of this sweep: {known or 'none (does the config validate?)'}")
    sign = 1 if rule == "greater" else -1
    return max(ranked, key=lambda r: sign * r["metrics"][key]["mean"])


def config_with_options(config: str | Path, cfg_options: Sequence[str] = ()):
    """The config as a run of the sweep sees it: the file with its ``KEY=V`` overrides merged
    (parsed as ``tools/train.py --cfg-options`` parses them)."""
    import argparse

    from mmengine.config import Config, DictAction

    cfg = Config.fromfile(str(config))
    if cfg_options:
        parser = argparse.ArgumentParser()
        parser.add_argument("--o", nargs="+", action=DictAction)
        cfg.merge_from_dict(parser.parse_args(["--o", *cfg_options]).o)
    return cfg


def check_val_is_not_test(config: str, cfg_options: Sequence[str] = ()) -> None:
    """Refuse to tune on a config whose validation loader reads the test data set (then
    ``val/`` metrics are test metrics)."""
    cfg = config_with_options(config, cfg_options)
    val, test = cfg.get("val_dataloader"), cfg.get("test_dataloader")
    if val is not None and test is not None and val.get("dataset") == test.get("dataset"):
        raise ValueError(f"{config}: val_dataloader reads the same data set as "
                         "test_dataloader, so its val/ metrics are test metrics; tune with a "
                         "validation split (e.g. configs/_base_/datasets/msr3d_xsub_val.py)")


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
              metrics: Sequence[str] | None = None, select: str | None = None,
              select_rule: str = "greater",
              final_cfg_options: Sequence[str] | None = None, amp: bool = False) -> dict:
    """Run the sweep and write ``out/sweep.json`` and ``out/sweep.md``; returns the JSON
    payload. ``reuse`` keeps runs whose work dir already holds results; otherwise a work dir
    that exists and is not empty is an error (before anything runs). ``select`` (a ``val/``
    metric) names the best grid point in the payload's ``selected``; ``final_cfg_options``
    then re-runs that point over the same seeds with these options added, in ``out/final``
    (its table is the payload's ``final``). ``amp`` trains and evaluates every run in bf16
    (``tools/train.py --amp``)."""
    if not Path(config).is_file():
        raise FileNotFoundError(f"config file {config} does not exist")
    if jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {jobs}")
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds must be distinct and non-empty, got {list(seeds)}")
    if final_cfg_options is not None and not select and len(grid_points(parse_grid(grid))) > 1:
        raise ValueError("--final-cfg-options with a grid needs --select to choose the point")
    if select:
        if not select.startswith(VAL) or select_rule not in ("greater", "less"):
            select_point([], select, select_rule)  # its error, before hours of runs
        check_val_is_not_test(config, cfg_options)
    out = Path(out)
    train_script = train_script or str(Path(__file__).resolve().parents[1] / "tools/train.py")
    runs = plan_runs(config, seeds, parse_grid(grid), out, cfg_options)
    if amp:
        for run in runs:
            run["args"].insert(run["args"].index("--cfg-options"), "--amp")
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
                        *(["--select", select, "--select-rule", select_rule] if select else []),
                        *(["--final-cfg-options", *final_cfg_options]
                          if final_cfg_options is not None else []),
                        *(["--amp"] if amp else []),
                        "--jobs", str(jobs), "--out", str(out)])
    rows = aggregate(done)
    records = [{k: r[k] for k in ("point_name", "point", "seed", "work_dir", "log", "status",
                                  "seconds", "metrics", "args")} for r in done]
    payload = dict(config=config, command=command, seeds=list(seeds), grid=list(grid),
                   cfg_options=list(cfg_options), rows=rows, runs=records)
    # the runs' table first: a selection that fails below must not lose hours of runs
    write_table(out, payload, markdown(rows, title or f"Sweep of {config}", command, metrics))
    selected = select_point(rows, select, select_rule) if select else None
    final = None
    if final_cfg_options is not None:
        chosen = selected or rows[0]
        options = [*cfg_options, *[f"{k}={v}" for k, v in chosen["options"].items()],
                   *final_cfg_options]
        final = run_sweep(config, seeds, (), jobs, out / "final", options, train_script, reuse,
                          f"{title or config}: final run of {chosen['point']}", metrics,
                          amp=amp)
    payload = dict(config=config, command=command, seeds=list(seeds), grid=list(grid),
                   cfg_options=list(cfg_options), rows=rows,
                   selected=None if selected is None else dict(
                       point=selected["point"], options=selected["options"], key=select,
                       rule=select_rule, value=selected["metrics"][select]),
                   final=None if final is None else dict(
                       cfg_options=final["cfg_options"], rows=final["rows"],
                       out=str(out / "final")),
                   runs=records)
    md = markdown(rows, title or f"Sweep of {config}", command, metrics)
    if selected:
        best = selected["metrics"][select]
        md += (f"\nSelected on {select} ({select_rule}): **{selected['point']}** "
               f"({best['mean']:.2f} ± {best['std']:.2f}, n = {best['n']})\n")
    if final:
        md += "\n" + markdown(final["rows"], "Final run", final["command"], metrics).replace(
            "# Final run", "## Final run", 1)
    write_table(out, payload, md)
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
