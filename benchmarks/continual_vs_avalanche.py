"""The zoo's continual loop against Avalanche on the same class-incremental problem.

Split digits (scikit-learn digits, 5 tasks x 2 classes, the zoo scenario's seeded class
order, labels in order of appearance), the same SmallCNN with a classifier that grows with
the classes (zoo: ``cls_head.fc`` expanded by the loop; Avalanche: ``IncrementalClassifier``),
Adam 1e-3, batch 64, 5 epochs per task, a fresh optimizer per task, 200-sample replay memory
and 64 replayed samples per step. Four methods:

=========  ==============================  ===============================================
zoo        Avalanche                       matched by
=========  ==============================  ===============================================
FineTune   ``Naive``                       identical objective
ER         ``Replay(mem_size=200)``        memory size and replay batch; the zoo memory is a
                                           reservoir of the stream, Avalanche's an
                                           experience-balanced random buffer (the zoo
                                           replays from the first task's second step on,
                                           Avalanche from the second task: more samples per
                                           step in the first task)
EWC        ``EWC(mode='separate')``        ``ewc_lambda = lambda_/2`` (Avalanche has no 1/2);
                                           the zoo's Fisher averages squared per-sample
                                           gradients, Avalanche's squared minibatch gradients
LwF        ``LwF(temperature=2)``          ``alpha_avalanche = alpha * T^2`` (the zoo's
                                           distillation carries the T^2 factor); the zoo
                                           also warms the new output rows up on frozen
                                           features before each task (Li & Hoiem)
LwF-plain  ``LwF(temperature=2)``          as LwF, without the warm-up
                                           (``warmup_steps=0``): the same algorithm
=========  ==============================  ===============================================

Both sides are evaluated after every task by the same code (class-incremental arg-max over
the seen classes on the test split), and the metrics come from ``zoo.continual.metrics``.
Wall time covers everything a user waits for (zoo: building the runner and
``runner.train()``, task checkpoints and accuracy-matrix PNGs off; Avalanche: building the
benchmark, model and strategy, training and the per-task evaluation), single-threaded,
median over repeats.

Run: ``OMP_NUM_THREADS=1 uv run --with avalanche-lib==0.6.0 python
benchmarks/continual_vs_avalanche.py [--repeats 3] [--epochs 5] [--channels-last]``
(Avalanche is not a dependency of the zoo; ``--with`` puts it in a throw-away overlay;
``--channels-last`` adds the zoo run with ``tools/train.py --channels-last`` and, as a
control, Avalanche on the same channels-last weights). Writes
``benchmarks/results/continual_vs_avalanche.{json,md}`` (``..._<E>ep`` for another
``--epochs``: with more epochs per task the fixed costs of building a run weigh less and the
ratio shows the per-step speed).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
CONFIGS = {"FineTune": "finetune", "ER": "er", "EWC": "ewc", "LwF": "lwf", "LwF-plain": "lwf"}
# LwF-plain: the zoo's LwF without Li & Hoiem's warm-up of the new output rows, which
# Avalanche's LwF does not have: the same algorithm on both sides
OPTIONS = {"LwF-plain": {"train_cfg.strategy.warmup_steps": 0}}
EPOCHS, BATCH, LR, MEMORY = 5, 64, 1e-3, 200


# zoo ----------------------------------------------------------------------------------------
def run_zoo(method: str, seed: int, epochs: int = EPOCHS, channels_last: bool = False
            ) -> tuple[np.ndarray, float, dict]:
    from mmengine.runner import Runner

    from zoo.engine.memory_format import enable_channels_last
    from zoo.runner_utils import load_config

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as work_dir:
        cfg = load_config(str(REPO / f"configs/continual/split_digits/{CONFIGS[method]}.py"), {
            "train_cfg.save_checkpoints": False, "train_cfg.save_plots": False,
            "randomness.seed": seed,
            "default_hooks.logger.interval": 10_000, "log_level": "WARNING",
            "train_cfg.epochs_per_task": epochs,
            "experiment_name": f"{method}_{seed}", **OPTIONS.get(method, {})}, work_dir)
        if channels_last:  # what `tools/train.py --channels-last` adds
            enable_channels_last(cfg)
        runner = Runner.from_cfg(cfg)
        runner.train()
        results = json.loads((Path(work_dir) / "continual_results.json").read_text())
    elapsed = time.perf_counter() - start
    strategy = dict(cfg.train_cfg.strategy)
    return np.array(results["accuracy_matrix"], dtype=float), elapsed, strategy


# Avalanche ----------------------------------------------------------------------------------
def digits_tensors():
    from zoo.datasets.image import Digits

    from zoo.continual import ClassIncrementalScenario

    train, test = Digits(split="train"), Digits(split="test")
    scenario = ClassIncrementalScenario.from_dataset(train, num_tasks=5, seed=0)

    def tensors(ds):
        x = torch.tensor(np.stack([ds.get_data_info(i)["img"] for i in range(len(ds))]))[:, None]
        y = torch.tensor([scenario.label_map[ds.get_data_info(i)["label"]]
                          for i in range(len(ds))])
        return x.float(), y

    return tensors(train), tensors(test), scenario


class AvalancheSmallCNN(nn.Module):
    """The zoo's SmallCNN + global average pooling + Avalanche's growing classifier."""

    def __init__(self):
        super().__init__()
        from avalanche.models import IncrementalClassifier
        from zoo.models.image import SmallCNN

        self.backbone = SmallCNN(in_channels=1, channels=(32, 64, 128))
        self.classifier = IncrementalClassifier(128, initial_out_features=2)

    def forward(self, x):
        return self.classifier(self.backbone(x).flatten(2).mean(-1))


def class_il_row(model, test_x, test_y, task: int) -> list[float]:
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(test_x[i:i + 256]).argmax(1) for i in range(0, len(test_x), 256)])
    tasks = test_y // 2
    return [100.0 * (pred[tasks == j] == test_y[tasks == j]).float().mean().item()
            for j in range(task + 1)]


def run_avalanche(method: str, seed: int, zoo_strategy: dict, epochs: int = EPOCHS,
                  channels_last: bool = False) -> tuple[np.ndarray, float]:
    from avalanche.benchmarks.scenarios.supervised import class_incremental_benchmark
    from avalanche.benchmarks.utils.classification_dataset import (
        _make_taskaware_tensor_classification_dataset as tensor_dataset,
    )
    from avalanche.training.plugins import EvaluationPlugin
    from avalanche.training.supervised import EWC, LwF, Naive, Replay

    start = time.perf_counter()
    torch.manual_seed(seed)
    (train_x, train_y), (test_x, test_y), _ = DIGITS
    bench = class_incremental_benchmark(
        {"train": tensor_dataset(train_x, train_y), "test": tensor_dataset(test_x, test_y)},
        class_order=list(range(10)), num_experiences=5)
    model = AvalancheSmallCNN()
    if channels_last:  # the control: Avalanche's loop on the same channels-last weights
        from zoo.engine.memory_format import channels_last_

        channels_last_(model)
    common = dict(model=model, optimizer=torch.optim.Adam(model.parameters(), lr=LR),
                  criterion=nn.CrossEntropyLoss(), train_mb_size=BATCH, train_epochs=epochs,
                  eval_mb_size=256, device="cpu", evaluator=EvaluationPlugin(loggers=[]))
    if method == "FineTune":
        strategy = Naive(**common)
    elif method == "ER":
        strategy = Replay(mem_size=MEMORY, **common)
    elif method == "EWC":
        strategy = EWC(ewc_lambda=zoo_strategy["lambda_"] / 2, mode="separate", **common)
    else:
        t = zoo_strategy["temperature"]
        strategy = LwF(alpha=zoo_strategy["alpha"] * t * t, temperature=t, **common)
    matrix = np.full((5, 5), np.nan)
    for task, experience in enumerate(bench.train_stream):
        strategy.train(experience)
        matrix[task, :task + 1] = class_il_row(model, test_x, test_y, task)
    return matrix, time.perf_counter() - start


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", default="FineTune,ER,EWC,LwF,LwF-plain")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="epochs per task")
    parser.add_argument("--out", default=None, help="results path without suffix")
    parser.add_argument("--channels-last", action="store_true",
                        help="also run both sides with channels-last weights (zoo: "
                             "`--channels-last`; Avalanche: the same weights, as a control)")
    args = parser.parse_args(argv)
    epochs = args.epochs
    args.out = args.out or str(REPO / "benchmarks/results/continual_vs_avalanche") + (
        "" if epochs == EPOCHS else f"_{epochs}ep")
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    import avalanche
    from mmengine.registry import init_default_scope

    from zoo.continual.metrics import continual_metrics
    from zoo.fileio import atomic_write_bytes

    init_default_scope("zoo")
    global DIGITS
    DIGITS = digits_tensors()
    variants = list(VARIANTS) if args.channels_last else ["zoo", "avalanche"]
    rows = []
    for method in args.methods.split(","):
        runs = {name: [] for name in variants}
        for seed in range(args.repeats):
            zoo_strategy = None
            for name in variants:  # interleaved, so that drifts of the machine hit all alike
                cl = name.endswith("_cl")
                if name.startswith("zoo"):
                    matrix, seconds, zoo_strategy = run_zoo(method, seed, epochs, cl)
                else:
                    matrix, seconds = run_avalanche(method, seed, zoo_strategy, epochs, cl)
                runs[name].append(dict(seconds=seconds, **continual_metrics(matrix),
                                       final_row=[round(v, 2) for v in matrix[-1]]))
            print(f"{method} seed {seed}: " + " | ".join(
                f"{name} {runs[name][-1]['average_accuracy']:.1f}% "
                f"{runs[name][-1]['seconds']:.1f}s" for name in variants), flush=True)
        row = dict(method=method, zoo_strategy=zoo_strategy, runs=runs)
        for name in variants:
            acc = [r["average_accuracy"] for r in runs[name]]
            fgt = [r["forgetting"] for r in runs[name]]
            row[name] = dict(average_accuracy_mean=round(statistics.mean(acc), 2),
                             average_accuracy_std=round(statistics.stdev(acc), 2)
                             if len(acc) > 1 else 0.0,
                             forgetting_mean=round(statistics.mean(fgt), 2),
                             median_seconds=round(statistics.median(
                                 r["seconds"] for r in runs[name]), 2))
        for a, b in RATIOS:
            if a in row and b in row:
                row[f"time_ratio_{a}_over_{b}"] = round(
                    row[a]["median_seconds"] / row[b]["median_seconds"], 3)
        rows.append(row)
    payload = dict(benchmark="split digits, zoo ContinualTrainLoop vs Avalanche",
                   avalanche_version=avalanche.__version__, torch_version=torch.__version__,
                   repeats=args.repeats, epochs_per_task=epochs, batch_size=BATCH, lr=LR,
                   memory=MEMORY, threads=1, variants={v: VARIANTS[v] for v in variants},
                   rows=rows, protocol=__doc__)
    out = Path(args.out)
    atomic_write_bytes(out.with_suffix(".json"), json.dumps(payload, indent=2).encode())
    ratios = [(a, b) for a, b in RATIOS if a in variants and b in variants]
    lines = [(f"# Split digits: zoo vs Avalanche {avalanche.__version__} (torch "
              f"{torch.__version__}, {args.repeats} seeds, 1 thread, {epochs} epochs per task)"),
             "", "Command: `uv run python benchmarks/continual_vs_avalanche.py "
             + " ".join(sys.argv[1:] if argv is None else argv) + "`", "",
             "Variants: " + "; ".join(f"{v}: {VARIANTS[v]}" for v in variants) + ".", "",
             "Average accuracy and forgetting in % (mean ± std over the seeds, ddof 1); seconds: "
             "median over the seeds.", "",
             "| method | " + " | ".join(f"{v} avg acc" for v in variants) + " | "
             + " | ".join(f"{v} forgetting" for v in variants) + " | "
             + " | ".join(f"{v} s" for v in variants) + " | "
             + " | ".join(f"time {a} / {b}" for a, b in ratios) + " |",
             "|---|" + "---:|" * (3 * len(variants) + len(ratios))]
    for r in rows:
        cells = [f"{r[v]['average_accuracy_mean']:.1f} ± {r[v]['average_accuracy_std']:.1f}"
                 for v in variants]
        cells += [f"{r[v]['forgetting_mean']:.1f}" for v in variants]
        cells += [f"{r[v]['median_seconds']:.2f}" for v in variants]
        cells += [f"{r[f'time_ratio_{a}_over_{b}']:.2f}" for a, b in ratios]
        lines.append(f"| {r['method']} | " + " | ".join(cells) + " |")
    lines += ["", ("Protocol and the differences between the implementations: see the "
                   "docstring of benchmarks/continual_vs_avalanche.py (also in the JSON).")]
    atomic_write_bytes(out.with_suffix(".md"), ("\n".join(lines) + "\n").encode())
    return payload


DIGITS = None
VARIANTS = {"zoo": "the config as it is",
            "zoo_cl": "the config with `tools/train.py --channels-last` (ChannelsLastHook)",
            "avalanche": "Avalanche's strategy on the model as built (NCHW weights)",
            "avalanche_cl": "Avalanche's strategy on the model with channels-last weights "
                            "(zoo.engine.memory_format.channels_last_), a control"}
RATIOS = [("zoo", "avalanche"), ("zoo_cl", "avalanche"), ("zoo_cl", "avalanche_cl")]

if __name__ == "__main__":
    main()
