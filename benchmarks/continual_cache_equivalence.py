"""Every split-digits continual config run with and without ``train_cfg.cache_inputs``.

The cached loop packs each sample once and must be the same computation as the uncached one:
this runs each config of the digits folders of ``configs/continual/`` (``FOLDERS``: class-,
task- and domain-incremental, online, the mammoth protocol) both ways, with the given epochs
per task and seed, and records whether the class-incremental and task-aware accuracy
matrices are identical, with the wall time of each run (one thread; task checkpoints and
PNGs off). A config whose pipeline is random is refused by the cached loop: recorded as such.

Run: ``OMP_NUM_THREADS=1 uv run python benchmarks/continual_cache_equivalence.py [--epochs 2]``
-> ``benchmarks/results/continual_cache_equivalence.{json,md}``.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks/results/continual_cache_equivalence"
FOLDERS = ("split_digits", "task_digits", "domain_digits", "online_digits",
           "seq_digits_mammoth")


def run(config: Path, cache: bool, epochs: int, seed: int) -> tuple[dict, float]:
    from mmengine.runner import Runner

    from zoo.runner_utils import load_config

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as work_dir:
        cfg = load_config(str(config), {
            "train_cfg.cache_inputs": cache, "train_cfg.epochs_per_task": epochs,
            "train_cfg.save_checkpoints": False, "train_cfg.save_plots": False,
            "randomness.seed": seed, "log_level": "WARNING",
            "default_hooks.logger.interval": 10_000,
            # one experiment name per run: mmengine's visualizer is looked up by name
            "experiment_name": f"{config.stem}_{cache}_{time.monotonic_ns()}"}, work_dir)
        Runner.from_cfg(cfg).train()
        results = json.loads((Path(work_dir) / "continual_results.json").read_text())
    return results, time.perf_counter() - start


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2, help="epochs per task")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    from zoo.fileio import atomic_write_bytes

    configs = [path for folder in FOLDERS
               for path in sorted((REPO / "configs/continual" / folder).glob("*.py"))]
    rows = []
    for config in configs:
        plain, plain_s = run(config, False, args.epochs, args.seed)
        try:
            cached, cached_s = run(config, True, args.epochs, args.seed)
        except ValueError as error:  # the cache's refusal of a random pipeline
            verdict, cached_s = f"refused: {str(error)[:80]}", float("nan")
        else:
            same = all(plain.get(key) == cached.get(key)
                       for key in ("accuracy_matrix", "task_aware_accuracy_matrix"))
            verdict = "identical" if same else "DIFFERENT"
        rows.append(dict(config=str(config.relative_to(REPO)), verdict=verdict,
                         identical=verdict == "identical",
                         uncached_s=round(plain_s, 2), cached_s=round(cached_s, 2)))
        print(f"{rows[-1]['config']}: {verdict} {plain_s:.2f} s -> {cached_s:.2f} s",
              flush=True)
    lines = [f"# Continual configs with and without `cache_inputs` ({args.epochs} epochs per "
             f"task, seed {args.seed}, 1 thread)", "",
             "Command: `OMP_NUM_THREADS=1 uv run python benchmarks/continual_cache_equivalence.py"
             f" --epochs {args.epochs}`", "",
             f"{sum(r['identical'] for r in rows)} of {len(rows)} configs give identical "
             "accuracy matrices (class-incremental and task-aware), "
             f"{sum(r['verdict'] == 'DIFFERENT' for r in rows)} different ones, "
             f"{sum(r['verdict'].startswith('refused') for r in rows)} refused by the cache "
             "(random pipeline).", "",
             "| config | matrices | uncached s | cached s |", "|---|---|---:|---:|"]
    lines += [f"| {r['config']} | {r['verdict']} | {r['uncached_s']:.2f} | "
              f"{r['cached_s']:.2f} |" for r in rows]
    lines += ["", "Times are single runs on a shared machine: read them as indicative only."]
    atomic_write_bytes(RESULTS.with_suffix(".json"),
                       json.dumps(dict(epochs=args.epochs, seed=args.seed, rows=rows),
                                  indent=1).encode())
    atomic_write_bytes(RESULTS.with_suffix(".md"), ("\n".join(lines) + "\n").encode())
    return rows


if __name__ == "__main__":
    main()
