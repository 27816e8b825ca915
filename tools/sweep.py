"""Run a config over seeds (and a grid of ``--cfg-options``) and write one mean ± std table.

Example (3 seeds of two EWC strengths, two processes at a time)::

    uv run tools/sweep.py configs/continual/split_digits/ewc.py --seeds 0 1 2 \
        --grid train_cfg.strategy.lambda_=1e3,1e4 --jobs 2 --out work_dirs/sweep_ewc

Each run trains with ``tools/train.py`` in its own process and work dir
(``OUT/runs/<point>/seed<S>``, log in ``OUT/logs``); the table is ``OUT/sweep.md`` and
``OUT/sweep.json`` (see :mod:`zoo.sweep`). Continual configs report their
``continual_results.json`` metrics, other configs their final test metrics; every run also
reports its validation curve as ``val/<metric>`` (last), ``val/best_<metric>`` and its epoch.

Tuning on validation, then one test report of the chosen point (MSR Action3D: train on
subjects 1, 3, 5, 7, validate on 9, final run on all five training subjects)::

    uv run tools/sweep.py configs/skeleton/recipes/ctrgcn_msr3d_xsub.py --seeds 0 1 2 \
        --grid optim_wrapper.optimizer.weight_decay=4e-4,1e-3 --select val/top1 \
        --final-cfg-options "train_dataloader.dataset.values=[1,3,5,7,9]" --out work_dirs/tune
"""
from __future__ import annotations

import argparse
import json
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
    parser.add_argument("--amp", action="store_true",
                        help="bf16 mixed precision in every run (tools/train.py --amp)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time (default 1)")
    parser.add_argument("--out", default="work_dirs/sweep", help="output folder")
    parser.add_argument("--reuse", action="store_true",
                        help="keep runs whose work dir already holds results")
    parser.add_argument("--title", help="title of the markdown table")
    parser.add_argument("--metrics", nargs="+",
                        help="columns of the markdown table (default: all metrics)")
    parser.add_argument("--select", metavar="val/METRIC",
                        help="choose the grid point with the best mean of this validation "
                             "metric (test metrics are refused)")
    parser.add_argument("--select-rule", choices=["greater", "less"], default="greater",
                        help="whether higher or lower --select values are better")
    parser.add_argument("--final-cfg-options", nargs="*", metavar="KEY=V",
                        help="re-run the selected point over the seeds with these overrides "
                             "too (OUT/final) and report its test metrics")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    payload = run_sweep(args.config, args.seeds, args.grid, args.jobs, args.out,
                        args.cfg_options, str(Path(__file__).with_name("train.py")),
                        args.reuse, args.title, args.metrics, args.select, args.select_rule,
                        args.final_cfg_options, amp=args.amp)
    print((Path(args.out) / "sweep.md").read_text())
    runs = list(payload["runs"])
    if payload.get("final"):
        final = json.loads((Path(payload["final"]["out"]) / "sweep.json").read_text())
        runs += final["runs"]
    failed = [f"{r['point_name']} seed {r['seed']}: {r['status']} (log {r['log']})"
              for r in runs if r["status"] != "ok"]
    if failed:
        print("Failed runs:\n" + "\n".join(failed), file=sys.stderr)
        sys.exit(1)
    return payload


if __name__ == "__main__":
    main()
