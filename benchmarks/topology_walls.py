"""Dice-CE vs clDice vs Skeleton Recall on generated brick walls: Dice, clDice, Betti errors.

For each config in ``configs/topology/`` (MONAI UNet 16-32-64-128, 128x128 walls, 40 training
images with accurate labels, 40 epochs, Adam 2e-3 cosine; one run per training seed; the
generated walls are the same for every seed), the final checkpoint is
tested on the in-distribution test split (20 walls) and the two out-of-distribution splits
(20 walls each: other colours; coarse strong texture + heavy noise) with
``SegTopologyMetric`` (per-image Dice, clDice, |Δb0|, |Δb1|, HD95, averaged over images).

Run::

    OMP_NUM_THREADS=1 uv run python benchmarks/topology_walls.py --train --seeds 0 1 2
    OMP_NUM_THREADS=1 uv run python benchmarks/topology_walls.py --seeds 0 1 2  # test only

Checkpoints are read from ``work_dirs/topology/<config>/epoch_<N>.pth`` (seed 0) and
``work_dirs/topology/<config>_seed<S>/epoch_<N>.pth``. Writes
``benchmarks/results/topology_walls.{json,md}`` (mean and standard deviation over seeds).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from zoo.fileio import atomic_write_text

REPO = Path(__file__).resolve().parents[1]
RUNS = {"Dice + CE": "unet_dicece_walls", "CE + Dice + clDice": "unet_cldice_walls",
        "Dice + CE + Skeleton Recall": "unet_skelrecall_walls"}
SPLITS = {"in-distribution": "test", "OOD colour": "test_ood_colour",
          "OOD texture": "test_ood_texture"}
MEASURES = ("dice", "cldice", "betti0_err", "betti1_err", "hd95")


def work_dir_of(name: str, seed: int) -> Path:
    return REPO / "work_dirs/topology" / (name if seed == 0 else f"{name}_seed{seed}")


def train(name: str, work_dir: Path, seed: int) -> float:
    start = time.perf_counter()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, str(REPO / "tools/train.py"),
                    str(REPO / f"configs/topology/{name}.py"), "--work-dir", str(work_dir),
                    "--no-test", "--cfg-options", f"randomness.seed={seed}"],
                   check=True, env=env, cwd=REPO)
    return time.perf_counter() - start


def mean_std(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / max(1, len(values) - 1)
    return mean, var ** 0.5


def evaluate(name: str, checkpoint: Path, split: str) -> dict:
    from mmengine.runner import Runner

    from zoo.runner_utils import load_config

    cfg = load_config(str(REPO / f"configs/topology/{name}.py"),
                      {"test_dataloader.dataset.split": split},
                      work_dir=str(REPO / "work_dirs/topology/eval" / name))
    cfg.load_from, cfg.resume = str(checkpoint), False
    return Runner.from_cfg(cfg).test()


def fmt(values: list[float], digits: int) -> str:
    mean, std = mean_std(values)
    return f"{mean:.{digits}f}" if len(values) == 1 else f"{mean:.{digits}f} ± {std:.{digits}f}"


def write_tables(results: dict, out_dir: Path, epochs: int) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "topology_walls.json", json.dumps(results, indent=2))
    lines = [
        "# Topology losses on generated brick walls",
        "",
        f"MONAI UNet (16-32-64-128, 1 residual unit), 128x128 walls, 40 training images with "
        f"accurate labels, {epochs} epochs, Adam 2e-3 cosine, batch 8, CPU; training seeds "
        f"{results['seeds']} (mean ± standard deviation over seeds; the walls are the same). "
        "20 test walls per split; per-image means. Dice / clDice higher is better; "
        "|Δb0|, |Δb1| (Betti-0 / Betti-1 errors) and HD95 (pixels) lower is better.",
        "",
        "Command: `OMP_NUM_THREADS=1 uv run python benchmarks/topology_walls.py` after "
        "training each config with `uv run tools/train.py configs/topology/<config>.py "
        "--work-dir work_dirs/topology/<config>` (or add `--train`; `--seeds 0 1 2`)",
        "",
        "| loss | test set | Dice | clDice | Betti-0 err | Betti-1 err | HD95 |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for loss, per_split in results["runs"].items():
        for split_name in SPLITS:
            per_seed = [run["metrics"][split_name] for run in per_split["seeds"].values()]
            cells = [fmt([m[k] for m in per_seed], 3 if k in ("dice", "cldice") else 2)
                     for k in MEASURES]
            lines.append(f"| {loss} | {split_name} | " + " | ".join(cells) + " |")
    atomic_write_text(out_dir / "topology_walls.md", "\n".join(lines) + "\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true", help="train the three configs first")
    parser.add_argument("--epochs", type=int, default=40, help="checkpoint epoch to test")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds")
    parser.add_argument("--out", default=str(REPO / "benchmarks/results"))
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    results = {"epochs": args.epochs, "seeds": args.seeds, "runs": {}}
    for loss, name in RUNS.items():
        entry: dict = {"config": f"configs/topology/{name}.py", "seeds": {}}
        for seed in args.seeds:
            work_dir = work_dir_of(name, seed)
            run: dict = {}
            checkpoint = work_dir / f"epoch_{args.epochs}.pth"
            if args.train and not checkpoint.is_file():
                run["train_seconds"] = round(train(name, work_dir, seed), 1)
            if not checkpoint.is_file():
                raise FileNotFoundError(f"{checkpoint} is missing: run with --train, or "
                                        f"`uv run tools/train.py configs/topology/{name}.py "
                                        f"--work-dir {work_dir}`")
            run["metrics"] = {}
            for split_name, split in SPLITS.items():
                metrics = evaluate(name, checkpoint, split)
                run["metrics"][split_name] = {k: float(metrics[k]) for k in MEASURES}
                run["metrics"][split_name]["hd95_skipped"] = int(metrics.get("hd95_skipped", 0))
            entry["seeds"][str(seed)] = run
        results["runs"][loss] = entry
    write_tables(results, Path(args.out), args.epochs)
    print((Path(args.out) / "topology_walls.md").read_text())


if __name__ == "__main__":
    main()
