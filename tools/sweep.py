"""Run a config over seeds (and a grid of ``--cfg-options``) and write one mean ± std table.

Example (3 seeds of two EWC strengths, two processes at a time)::

    uv run tools/sweep.py configs/continual/split_digits/ewc.py --seeds 0 1 2 \
        --grid train_cfg.strategy.lambda_=1e3,1e4 --jobs 2 --out work_dirs/sweep_ewc

Each run trains with ``tools/train.py`` in its own process and work dir
(``OUT/runs/<point>/seed<S>``, log in ``OUT/logs``); the table is ``OUT/sweep.md`` and
``OUT/sweep.json`` (see :mod:`zoo.sweep`). Continual configs report their
``continual_results.json`` metrics, other configs their final test metrics.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from zoo.sweep import run_sweep


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="config file path")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0],
                        help="values of randomness.seed, one run each (default: 0)")
    parser.add_argument("--grid", nargs="+", default=[], metavar="KEY=V1,V2",
                        help="config keys and their values; every combination is run")
    parser.add_argument("--cfg-options", nargs="+", default=[], metavar="KEY=V",
                        help="overrides applied to every run")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time (default 1)")
    parser.add_argument("--out", default="work_dirs/sweep", help="output folder")
    parser.add_argument("--reuse", action="store_true",
                        help="keep runs whose work dir already holds results")
    parser.add_argument("--title", help="title of the markdown table")
    parser.add_argument("--metrics", nargs="+",
                        help="columns of the markdown table (default: all metrics)")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    payload = run_sweep(args.config, args.seeds, args.grid, args.jobs, args.out,
                        args.cfg_options, str(Path(__file__).with_name("train.py")),
                        args.reuse, args.title, args.metrics)
    print((Path(args.out) / "sweep.md").read_text())
    failed = [f"{r['point_name']} seed {r['seed']}: {r['status']} (log {r['log']})"
              for r in payload["runs"] if r["status"] != "ok"]
    if failed:
        print("Failed runs:\n" + "\n".join(failed), file=sys.stderr)
        sys.exit(1)
    return payload


if __name__ == "__main__":
    main()
