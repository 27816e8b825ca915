"""Table of every unlearner on one forget request, with the retrained model as reference.

Examples (the checkpoints are trained with ``tools/train.py`` first)::

    OMP_NUM_THREADS=1 uv run python benchmarks/unlearning.py digits \\
        --checkpoint work_dirs/smallcnn_digits/epoch_10.pth
    OMP_NUM_THREADS=1 uv run python benchmarks/unlearning.py digits_super5 \\
        --checkpoint work_dirs/unlearning/digits_super5/epoch_10.pth --forget-class -1 \\
        --forget-subclass 3
    OMP_NUM_THREADS=1 uv run python benchmarks/unlearning.py msr3d \\
        --checkpoint work_dirs/stgcn_msr3d_xsub/epoch_12.pth --retrain-epochs 12 \\
        --eval-clips 2 --cfg-options ...

Writes ``benchmarks/results/unlearning_<name>.md`` and ``.json``: per scenario (one class,
and optionally a random fraction of samples) the original model, ``Retrain`` and every other
unlearner with forget / retain / test accuracy, MIA, wall time and the gap to ``Retrain``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch
from mmengine.config import DictAction

from zoo.apis import init_model
from zoo.fileio import atomic_write_bytes
from zoo.pipelines import set_test_clips
from zoo.runner_utils import load_config
from zoo.unlearning.api import run_unlearner
from zoo.unlearning.context import build_context
from zoo.unlearning.report import compare, evaluate, markdown_table, public
from zoo.unlearning.requests import ForgetRequest, random_request

CONFIGS = {"digits": "configs/image/smallcnn_digits.py",
           "digits_super5": "configs/image/smallcnn_digits_super5.py",
           "msr3d": "configs/skeleton/stgcn_msr3d_xsub.py"}


# alpha 10 is the SSD paper's ResNet-18 setting; the larger values show the trade-off.
SSD_ALPHAS = (10.0, 20.0, 30.0, 50.0)
# The SSD target: < 5 % of Retrain's time, forget and retain accuracy within 5 points.
SSD_TIME_RATIO, SSD_ACC_GAP = 0.05, 5.0


def ssd_verdicts(rows: list[dict]) -> list[str]:
    """One line per SSD row: does it meet the time and accuracy target against Retrain?"""
    ref = next(r for r in rows if r["unlearner"].startswith("Retrain"))
    lines = []
    for r in rows:
        if not r["unlearner"].startswith("SSD"):
            continue
        gf = abs(r["forget_acc"] - ref["forget_acc"])
        gr = abs(r["retain_acc"] - ref["retain_acc"])
        ok = r["time_vs_retrain"] < SSD_TIME_RATIO and gf <= SSD_ACC_GAP and gr <= SSD_ACC_GAP
        lines.append(f"- {r['unlearner']}: time {100 * r['time_vs_retrain']:.1f} % of Retrain, "
                     f"forget gap {gf:.1f}, retain gap {gr:.1f} -> "
                     f"{'meets' if ok else 'misses'} the target")
    return lines


def unlearner_suite(name: str) -> list[tuple[str, dict]]:
    """(row name, unlearner config); fewer epochs on the slower skeleton model."""
    e = 1 if name == "msr3d" else 2
    gu = dict(num_batches=4, refresh_every=5)
    return [
        ("FineTune", dict(type="FineTune", epochs=e + 1)),
        ("NegGrad+", dict(type="NegGradPlus", epochs=e)),
        ("NegGrad+ +GU", dict(type="NegGradPlus", epochs=e, projection=gu)),
        ("RandomLabel", dict(type="RandomLabel", epochs=e)),
        ("RandomLabel +GU", dict(type="RandomLabel", epochs=e, projection=gu)),
        *[(f"SSD (alpha {a:g}, lambda 1)", dict(type="SSD", alpha=a, lam=1.0))
          for a in SSD_ALPHAS],
        ("SCRUB", dict(type="SCRUB", epochs=e + 1, max_steps=e)),
        ("GS-LoRA", dict(type="GSLoRA", epochs=e + 1)),
        # the methods below were set on the digits *training* split (forget / retain
        # accuracy of a briefly trained CNN, tests/unlearning), never on the test split
        ("GradientAscent", dict(type="GradientAscent", epochs=e + 1, lr=0.01)),
        ("l1-sparse", dict(type="L1Sparse", epochs=e + 3, alpha=1e-2)),
        ("SalUn", dict(type="SalUn", epochs=e)),
        ("BadTeacher", dict(type="BadTeacher", epochs=e + 1, lr=1e-3)),
        ("UNSIR", dict(type="UNSIR")),  # official defaults; class requests only
    ]


CLASS_ONLY = {"UNSIR"}


def apply_settings(suite: list[tuple[str, dict]], selection: dict) -> list[tuple[str, dict]]:
    """Replace each row's config by the one chosen on a validation protocol
    (``benchmarks/unlearning_select.py``'s JSON). A ``+GU`` row takes its base method's choice
    and keeps its projection; the SSD rows stay a grid over alpha (the choice is reported);
    rows without a selection keep their config."""
    chosen = {name: entry["chosen"]["config"] for name, entry in selection["methods"].items()}
    out = []
    for row_name, cfg in suite:
        base_name = row_name.removesuffix(" +GU")
        if base_name in chosen and not row_name.startswith("SSD"):
            new = dict(chosen[base_name])
            if "projection" in cfg:
                new["projection"] = cfg["projection"]
            cfg = new
        out.append((row_name, cfg))
    return out


def run_scenario(model, ctx, requests, suite, retrain_epochs, only=None) -> dict:
    ctx.reset()
    for r in requests:
        ctx.apply_request(r)
    original = evaluate(model, ctx)
    print(f"== {requests[0].describe()}: original {public(original)}", flush=True)
    ref, _ = run_unlearner(model, ctx, dict(type="Retrain", max_epochs=retrain_epochs), requests)
    rows = [dict(unlearner="Original (no unlearning)", **public(original),
                 **public(compare(original, ref))),
            dict(unlearner="Retrain (reference)", **public(ref))]
    print(rows[-1], flush=True)
    for row_name, cfg in suite:
        if only and row_name not in only:
            continue
        if cfg["type"] in CLASS_ONLY and any(r.ids or r.subclasses for r in requests):
            continue
        metrics, _ = run_unlearner(model, ctx, cfg, requests, ref)
        row = dict(unlearner=row_name, **public(metrics), config=metrics["_config"])
        row["time_vs_retrain"] = round(metrics["seconds"] / ref["seconds"], 4)
        rows.append(row)
        print({k: v for k, v in row.items() if k != "config"}, flush=True)
    return dict(request=requests[0].describe(), forget_samples=int(len(ctx.all_forget_idx)),
                retain_samples=int(len(ctx.retain_idx)), rows=rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", choices=sorted(CONFIGS))
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--forget-class", type=int, default=3,
                        help="class of the class-forgetting scenario (-1: skip it)")
    parser.add_argument("--forget-subclass", type=int, default=None,
                        help="also forget this sub-class (configs with SuperclassDataset)")
    parser.add_argument("--random", type=float, default=0.0,
                        help="also forget this random fraction of samples (0: skip)")
    parser.add_argument("--retrain-epochs", type=int, default=None)
    parser.add_argument("--eval-clips", type=int, default=None,
                        help="test clips per skeleton sample in the evaluation")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    parser.add_argument("--only", nargs="+", help="run only these rows (besides Retrain)")
    parser.add_argument("--settings", help="unlearning_select.py's JSON: every row's config "
                        "as chosen on a validation protocol")
    parser.add_argument("--out-dir", default="benchmarks/results")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = load_config(CONFIGS[args.name], args.cfg_options,
                      work_dir=f"work_dirs/unlearning_bench_{args.name}")
    if args.eval_clips:
        set_test_clips(cfg.test_dataloader.dataset.pipeline, args.eval_clips,
                       f"{CONFIGS[args.name]}: --eval-clips")
    model = init_model(cfg, args.checkpoint)
    ctx = build_context(cfg, model)
    suite = unlearner_suite(args.name)
    if args.settings:
        suite = apply_settings(suite, json.loads(Path(args.settings).read_text()))
    meta = dict(config=CONFIGS[args.name], checkpoint=args.checkpoint,
                cfg_options=args.cfg_options, retrain_epochs=args.retrain_epochs,
                settings=args.settings,
                eval_clips=args.eval_clips, torch=torch.__version__,
                machine=f"{platform.machine()}, {os.cpu_count()} cores, torch threads 1, "
                f"load average {os.getloadavg()[0]:.1f} at the start",
                date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                command="OMP_NUM_THREADS=1 uv run python benchmarks/unlearning.py "
                + " ".join(sys.argv[1:] if argv is None else argv))
    requests = [[ForgetRequest(classes=[args.forget_class])]] if args.forget_class >= 0 else []
    if args.forget_subclass is not None:
        requests.append([ForgetRequest(subclasses=[args.forget_subclass])])
    if args.random:
        requests.append([random_request(ctx.index, args.random)])
    scenarios = []
    for reqs in requests:  # the files are rewritten after every finished scenario
        scenarios.append(run_scenario(model, ctx, reqs, suite, args.retrain_epochs, args.only))
        write_results(Path(args.out_dir), args.name, meta, scenarios)


def write_results(out: Path, name: str, meta: dict, scenarios: list[dict]) -> None:
    atomic_write_bytes(out / f"unlearning_{name}.json",
                       (json.dumps(dict(meta=meta, scenarios=scenarios), indent=2, default=str)
                        + "\n").encode())
    lines = [f"# Unlearning on {name} ({CONFIGS[name]})", "",
             f"Checkpoint `{meta['checkpoint']}`; generated by `benchmarks/unlearning.py "
             f"{name}` on {meta['date']} ({meta['machine']}).", "",
             f"Command: `{meta.get('command', '')}`", "",
             *([f"Unlearner settings chosen on a validation protocol: `{meta['settings']}` "
                "(see the matching .md for the grid and the rule); the config of every row is "
                "in the JSON.", ""] if meta.get("settings") else []),
             "Accuracies and MIA in %, time in seconds; gaps are |value - Retrain value|; JS is "
             "the mean Jensen-Shannon divergence (nats) to Retrain's outputs; SVC MIA-eff is "
             "SalUn's MIA-Efficacy (confidence feature; % of forget samples called "
             "non-members); ZRF "
             "is 1 - mean JS to a random network on the forget samples; act dist is the mean "
             "L2 distance to Retrain's output probabilities on the forget samples. "
             "See docs/unlearning.md for the better direction of each.", ""]
    for sc in scenarios:
        lines += [f"## Forget {sc['request']} ({sc['forget_samples']} training samples; "
                  f"{sc['retain_samples']} retained)", "", markdown_table(sc["rows"]), "",
                  f"SSD target (time < {100 * SSD_TIME_RATIO:g} % of Retrain, forget and retain "
                  f"accuracy within {SSD_ACC_GAP:g} points of Retrain):", "",
                  *ssd_verdicts(sc["rows"]), ""]
    atomic_write_bytes(out / f"unlearning_{name}.md", "\n".join(lines).encode())
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
