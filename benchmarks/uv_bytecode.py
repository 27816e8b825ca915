"""What compiling bytecode costs `uv run` and what it saves on import.

Two measurements on this checkout's ``.venv``:

* ``uv run python -c pass``, ``--runs`` times, with ``UV_COMPILE_BYTECODE=1`` (what
  ``[tool.uv] compile-bytecode = true`` did: uv >= 0.5.5 recompiles the whole environment on
  every ``uv run``, astral-sh/uv#12202) and without it (bytecode written once by
  ``uv sync --compile-bytecode``).
* ``import torch, mmengine.runner, zoo.models`` in a fresh interpreter with the installed .pyc
  files, and with none (``PYTHONPYCACHEPREFIX`` pointing at an empty folder and
  ``PYTHONDONTWRITEBYTECODE=1``, i.e. every module compiled from source, as in an environment
  that sets that variable and was installed without bytecode).

Writes ``benchmarks/results/uv_bytecode.{json,md}``::

    nice -n 10 uv run --no-sync python benchmarks/uv_bytecode.py
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from zoo.fileio import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
IMPORTS = "import torch, mmengine.runner, zoo.models"


def _cpu_children() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    cpu0, t0 = _cpu_children(), time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, _cpu_children() - cpu0, done.stderr


def _summary(samples: list[tuple[float, float, str]]) -> dict:
    return {"wall_s_median": statistics.median(s[0] for s in samples),
            "cpu_s_median": statistics.median(s[1] for s in samples),
            "wall_s": [round(s[0], 3) for s in samples],
            "stderr_example": samples[-1][2].strip()[:200]}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--import-runs", type=int, default=3)
    args = parser.parse_args(argv)
    base = {k: v for k, v in os.environ.items() if k != "UV_COMPILE_BYTECODE"}
    uv_cmd = ["uv", "run", "python", "-c", "pass"]
    runs: dict[str, list] = {"compile_every_run": [], "compile_at_install": []}
    for _ in range(args.runs):  # interleaved, so a change of load hits both alike
        runs["compile_every_run"].append(_timed(uv_cmd, {**base, "UV_COMPILE_BYTECODE": "1"}))
        runs["compile_at_install"].append(_timed(uv_cmd, base))
    python = str(ROOT / ".venv" / "bin" / "python")
    imports: dict[str, list] = {"with_pyc": [], "without_pyc": []}
    with tempfile.TemporaryDirectory() as empty:
        for _ in range(args.import_runs):
            imports["with_pyc"].append(_timed([python, "-c", IMPORTS], base))
            imports["without_pyc"].append(_timed(
                [python, "-c", IMPORTS],
                {**base, "PYTHONPYCACHEPREFIX": empty, "PYTHONDONTWRITEBYTECODE": "1"}))
    result = {"machine": f"{platform.processor() or platform.machine()}, "
                         f"{os.cpu_count()} cores (shared)",
              "uv": subprocess.run(["uv", "--version"], capture_output=True,
                                   text=True).stdout.strip(),
              "python": sys.version.split()[0],
              "uv_run": {k: _summary(v) for k, v in runs.items()},
              "import": {"statement": IMPORTS, **{k: _summary(v) for k, v in imports.items()}}}
    RESULTS.mkdir(exist_ok=True)
    lines = [
        "# `uv run` and bytecode", "",
        f"{result['uv']}, Python {result['python']}, {result['machine']}. Command: "
        "`nice -n 10 uv run --no-sync python benchmarks/uv_bytecode.py`", "",
        "| case | median wall s | median CPU s |", "|---|---|---|",
    ]
    for key, label in (("compile_every_run", "`uv run python -c pass`, compile-bytecode on "
                                             "(recompiles every run)"),
                       ("compile_at_install", "`uv run python -c pass`, bytecode from "
                                              "`uv sync --compile-bytecode`")):
        r = result["uv_run"][key]
        lines.append(f"| {label} | {r['wall_s_median']:.2f} | {r['cpu_s_median']:.2f} |")
    for key, label in (("with_pyc", f"`{IMPORTS}`, .pyc present"),
                       ("without_pyc", f"`{IMPORTS}`, no .pyc (compiled from source)")):
        r = result["import"][key]
        lines.append(f"| {label} | {r['wall_s_median']:.2f} | {r['cpu_s_median']:.2f} |")
    for name, text in (("uv_bytecode.json", json.dumps(result, indent=2) + "\n"),
                       ("uv_bytecode.md", "\n".join(lines) + "\n")):
        atomic_write_text(RESULTS / name, text)
    print("\n".join(lines))
    return result


if __name__ == "__main__":
    main()
