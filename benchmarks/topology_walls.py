"""Dice-CE vs clDice vs Skeleton Recall on generated brick walls: Dice, clDice, Betti errors.

For each config in ``configs/topology/`` (MONAI UNet 16-32-64-128, 128x128 walls, 40 training
images with accurate labels, 40 epochs, Adam 2e-3 cosine, seed 0), the final checkpoint is
tested on the in-distribution test split (20 walls) and the two out-of-distribution splits
(20 walls each: other colours; coarse strong texture + heavy noise) with
``SegTopologyMetric`` (per-image Dice, clDice, |Δb0|, |Δb1|, HD95, averaged over images).

Run::

    OMP_NUM_THREADS=1 uv run python benchmarks/topology_walls.py --train   # train, then test
    OMP_NUM_THREADS=1 uv run python benchmarks/topology_walls.py           # test existing runs

Checkpoints are read from ``work_dirs/topology/<config>/epoch_<N>.pth``. Writes
``benchmarks/results/topology_walls.{json,md}``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNS = {"Dice + CE": "unet_dicece_walls", "CE + Dice + clDice": "unet_cldice_walls",
        "Dice + CE + Skeleton Recall": "unet_skelrecall_walls"}
SPLITS = {"in-distribution": "test", "OOD colour": "test_ood_colour",
          "OOD texture": "test_ood_texture"}
MEASURES = ("dice", "cldice", "betti0_err", "betti1_err", "hd95")


def train(name: str, work_dir: Path) -> float:
    start = time.perf_counter()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, str(REPO / "tools/train.py"),
                    str(REPO / f"configs/topology/{name}.py"), "--work-dir", str(work_dir),
                    "--no-test"], check=True, env=env, cwd=REPO)
    return time.perf_counter() - start


def evaluate(name: str, checkpoint: Path, split: str) -> dict:
    from mmengine.runner import Runner

    from zoo.runner_utils import load_config

    cfg = load_config(str(REPO / f"configs/topology/{name}.py"),
                      {"test_dataloader.dataset.split": split},
                      work_dir=str(REPO / "work_dirs/topology/eval" / name))
    cfg.load_from, cfg.resume = str(checkpoint), False
    return Runner.from_cfg(cfg).test()


def write_tables(results: dict, out_dir: Path, epochs: int) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / ".topology_walls.json.tmp"
    tmp.write_text(json.dumps(results, indent=2))
    os.replace(tmp, out_dir / "topology_walls.json")
    lines = [
        "# Topology losses on generated brick walls",
        "",
        f"MONAI UNet (16-32-64-128, 1 residual unit), 128x128 walls, 40 training images with "
        f"accurate labels, {epochs} epochs, Adam 2e-3 cosine, batch 8, one seed (0), CPU. "
        "20 test walls per split; per-image means. Dice / clDice higher is better; "
        "|Δb0|, |Δb1| (Betti-0 / Betti-1 errors) and HD95 (pixels) lower is better.",
        "",
        "Command: `OMP_NUM_THREADS=1 uv run python benchmarks/topology_walls.py` after "
        "training each config with `uv run tools/train.py configs/topology/<config>.py "
        "--work-dir work_dirs/topology/<config>` (or add `--train`)",
        "",
        "| loss | test set | Dice | clDice | Betti-0 err | Betti-1 err | HD95 |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for loss, per_split in results["runs"].items():
        for split_name, m in per_split["metrics"].items():
            lines.append(f"| {loss} | {split_name} | {m['dice']:.3f} | {m['cldice']:.3f} | "
                         f"{m['betti0_err']:.2f} | {m['betti1_err']:.2f} | {m['hd95']:.2f} |")
    tmp = out_dir / ".topology_walls.md.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, out_dir / "topology_walls.md")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true", help="train the three configs first")
    parser.add_argument("--epochs", type=int, default=40, help="checkpoint epoch to test")
    parser.add_argument("--out", default=str(REPO / "benchmarks/results"))
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    results = {"epochs": args.epochs, "seed": 0, "runs": {}}
    for loss, name in RUNS.items():
        work_dir = REPO / "work_dirs/topology" / name
        entry: dict = {"config": f"configs/topology/{name}.py"}
        if args.train:
            entry["train_seconds"] = round(train(name, work_dir), 1)
        checkpoint = work_dir / f"epoch_{args.epochs}.pth"
        if not checkpoint.is_file():
            raise FileNotFoundError(f"{checkpoint} is missing: run with --train, or "
                                    f"`uv run tools/train.py configs/topology/{name}.py "
                                    f"--work-dir {work_dir}`")
        entry["metrics"] = {}
        for split_name, split in SPLITS.items():
            metrics = evaluate(name, checkpoint, split)
            entry["metrics"][split_name] = {k: float(metrics[k]) for k in MEASURES}
            entry["metrics"][split_name]["hd95_skipped"] = int(metrics.get("hd95_skipped", 0))
        results["runs"][loss] = entry
    write_tables(results, Path(args.out), args.epochs)
    print((Path(args.out) / "topology_walls.md").read_text())


if __name__ == "__main__":
    main()
