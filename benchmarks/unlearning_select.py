"""Choose each unlearner's hyper-parameters on a validation protocol, never on the test split.

The model is trained on part of the training subjects only (``--config`` names a validation
protocol such as ``configs/skeleton/stgcn_msr3d_xsub_val.py``: train on subjects 1, 3, 5, 7,
val/test loader = held-out training subject 9). Every unlearner runs a small grid on one
class-forgetting request and one setting is kept by ``RULE`` (fixed before any run).

Example::

    OMP_NUM_THREADS=1 uv run python benchmarks/unlearning_select.py \\
        --config configs/skeleton/stgcn_msr3d_xsub_val.py \\
        --checkpoint work_dirs/stgcn_msr3d_xsub_val/epoch_80.pth --name msr3d

Writes ``benchmarks/results/unlearning_<name>_selection.{md,json}``; ``benchmarks/unlearning.py
--settings`` reads the chosen settings from the JSON.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

from zoo.apis import init_model
from zoo.fileio import atomic_write_bytes
from zoo.runner_utils import load_config
from zoo.unlearning.api import run_unlearner
from zoo.unlearning.context import build_context
from zoo.unlearning.requests import ForgetRequest

RULE = ("(1) a setting forgets when its accuracy on the forgotten training samples is at most "
        "the tolerance (Retrain's is 0 by construction: the class is never seen); (2) among "
        "forgetting settings the highest validation accuracy on the kept classes wins (ties: "
        "higher retain accuracy, then shorter time); (3) if no setting forgets, the one with "
        "the lowest forget accuracy is kept and flagged.")


def grid(base: dict, **axes) -> list[dict]:
    """Every combination of ``axes`` merged into ``base``."""
    keys = list(axes)
    return [dict(base, **dict(zip(keys, values)))
            for values in itertools.product(*(axes[k] for k in keys))]


# Row name -> candidate unlearner configs. Centred on each method's defaults (or its official
# values) with one step either way on the knobs that set how hard it forgets.
GRIDS: dict[str, list[dict]] = {
    "FineTune": grid(dict(type="FineTune"), epochs=[2, 5, 10], lr=[0.01, 0.05]),
    "NegGrad+": grid(dict(type="NegGradPlus"), epochs=[1, 2], lr=[0.005, 0.01]),
    "RandomLabel": grid(dict(type="RandomLabel"), epochs=[1, 2], lr=[0.005, 0.01]),
    "SCRUB": [dict(type="SCRUB", epochs=e, max_steps=m, lr=lr)
              for (e, m), lr in itertools.product([(2, 1), (4, 2), (6, 4)], [0.005, 0.02])],
    "GS-LoRA": grid(dict(type="GSLoRA"), epochs=[2, 4]),
    "GradientAscent": grid(dict(type="GradientAscent"), epochs=[1, 2, 4], lr=[1e-3, 1e-2, 3e-2]),
    "l1-sparse": grid(dict(type="L1Sparse"), epochs=[2, 4], alpha=[1e-3, 1e-2]),
    "SalUn": grid(dict(type="SalUn"), epochs=[1, 2], lr=[0.005, 0.01]),
    "BadTeacher": grid(dict(type="BadTeacher"), epochs=[1, 2], lr=[1e-4, 1e-3]),
    "UNSIR": grid(dict(type="UNSIR"), impair_lr=[0.005, 0.02]),
    "SSD": grid(dict(type="SSD", lam=1.0), alpha=[10.0, 20.0, 30.0, 50.0]),
}


def choose(trials: list[dict], forget_tol: float) -> dict:
    """``RULE`` applied to one method's trials; returns the winning trial with ``forgets`` set."""
    forgetting = [t for t in trials if t["forget_acc"] <= forget_tol]
    if forgetting:
        best = max(forgetting, key=lambda t: (t["val_acc_kept"], t["retain_acc"], -t["seconds"]))
        return dict(best, forgets=True)
    return dict(min(trials, key=lambda t: (t["forget_acc"], -t["val_acc_kept"])), forgets=False)


def run(args, argv: list[str]) -> dict:
    torch.set_num_threads(1)
    cfg = load_config(args.config, None, work_dir=f"work_dirs/unlearning_select_{args.name}")
    model = init_model(cfg, args.checkpoint)
    ctx = build_context(cfg, model)
    requests = [ForgetRequest(classes=[args.forget_class])]
    names = args.only or list(GRIDS)
    result = dict(config=args.config, checkpoint=args.checkpoint, forget_class=args.forget_class,
                  forget_tol=args.forget_tol, rule=RULE,
                  date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                  machine=f"{platform.machine()}, {os.cpu_count()} cores, torch threads 1",
                  command="OMP_NUM_THREADS=1 uv run python benchmarks/unlearning_select.py "
                  + " ".join(argv), methods={})
    for name in names:
        trials = []
        for unlearner_cfg in GRIDS[name]:
            metrics, _ = run_unlearner(model, ctx, unlearner_cfg, requests)
            trial = dict(config=unlearner_cfg, forget_acc=metrics["forget_acc"],
                         retain_acc=metrics["retain_acc"],
                         val_acc_kept=metrics["test_retain_acc"], seconds=metrics["seconds"])
            print(name, trial, flush=True)
            trials.append(trial)
        result["methods"][name] = dict(trials=trials, chosen=choose(trials, args.forget_tol))
        write(Path(args.out_dir), args.name, result)  # after every method: nothing is lost
    return result


def write(out: Path, name: str, result: dict) -> None:
    atomic_write_bytes(out / f"unlearning_{name}_selection.json",
                       (json.dumps(result, indent=2) + "\n").encode())
    lines = [f"# Unlearning hyper-parameters for {name}, chosen on a validation protocol", "",
             f"Config `{result['config']}` (the test split is not read), checkpoint "
             f"`{result['checkpoint']}`, forget class {result['forget_class']}; "
             f"{result['date']}, {result['machine']}.", "",
             f"Command: `{result['command']}`", "",
             f"Rule (fixed before the runs; forget tolerance "
             f"{result['forget_tol']:g} %): {result['rule']}", "",
             "forget / retain: accuracy (%) on the forgotten / kept training samples; val kept: "
             "accuracy (%) on the kept classes of the held-out validation subjects.", "",
             "| unlearner | setting | forget | retain | val kept | time s | chosen |",
             "|---|---|---:|---:|---:|---:|---|"]
    for method, entry in result["methods"].items():
        chosen = entry["chosen"]
        for t in entry["trials"]:
            setting = ", ".join(f"{k}={v}" for k, v in t["config"].items() if k != "type")
            mark = ""
            if t["config"] == chosen["config"]:
                mark = "yes" if chosen["forgets"] else "yes (no setting forgets)"
            lines.append(f"| {method} | {setting or 'defaults'} | {t['forget_acc']:.1f} | "
                         f"{t['retain_acc']:.1f} | {t['val_acc_kept']:.1f} | {t['seconds']:.1f} "
                         f"| {mark} |")
    atomic_write_bytes(out / f"unlearning_{name}_selection.md", ("\n".join(lines) + "\n").encode())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, help="a validation-protocol config")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--name", required=True, help="results file stem")
    parser.add_argument("--forget-class", type=int, default=3)
    parser.add_argument("--forget-tol", type=float, default=5.0)
    parser.add_argument("--only", nargs="+", choices=sorted(GRIDS))
    parser.add_argument("--out-dir", default="benchmarks/results")
    argv = sys.argv[1:] if argv is None else list(argv)
    run(parser.parse_args(argv), argv)


if __name__ == "__main__":
    main()
