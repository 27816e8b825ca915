"""Continual WSI comparison on the three-organ synthetic cohorts (CoMEL protocol, issue 25).

Reads the work dirs of ``tools/sweep.py`` runs (``SWEEPS/<config>/runs/*/seed<S>/
continual_results.json``) and, optionally, single-task convergence runs on the validation
split (``--convergence DIR/<config>_<task>_e<E>/continual_results.json``), and writes one
markdown table + JSON (mean ± std over seeds) and a PNG of the per-task bag accuracy after
each task. Commands that made ``benchmarks/results/wsi_continual_organs.*``::

    uv run tools/wsi/make_demo_data.py /tmp/wsi_cohorts/organs --tasks glands nuclei strands \\
        --num-slides 64 --test-fraction 0.375 --val-fraction 0.125
    # single-task convergence on the validation split (one run per task and model)
    ZOO_WSI_TASKS_DATA=/tmp/wsi_cohorts/organs ZOO_WSI_EVAL_SPLIT=val ZOO_WSI_TASKS=t1 \\
        uv run tools/train.py configs/wsi/continual/comel_bppl_finetune.py \\
        --work-dir CONV/comel_bppl_finetune_t1_e40          # ... t2, t3; abmil_finetune
    # the comparison, 3 seeds per config
    ZOO_WSI_TASKS_DATA=/tmp/wsi_cohorts/organs uv run tools/sweep.py \\
        configs/wsi/continual/comel_owlora.py --seeds 0 1 2 --jobs 3 --out SWEEPS/comel_owlora
    # ... comel_bppl_finetune, comel_finetune, abmil_finetune, abmil_er, comel_er
    uv run benchmarks/wsi_continual_organs.py --sweeps SWEEPS --convergence CONV
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

CONFIGS = {  # config -> row label, in the table's order
    "comel_owlora": "CoMEL + OWLoRA",
    "comel_bppl_finetune": "CoMEL + BPPL, fine-tune (no OWLoRA)",
    "comel_finetune": "CoMEL fine-tune (no BPPL)",
    "abmil_finetune": "ABMIL fine-tune",
    "abmil_er": "ABMIL + ER (10 bags)",
    "comel_er": "CoMEL + BPPL + ER (10 bags)",
}
METRICS = {  # key -> (label, where in continual_results.json)
    "acc": ("bag acc (class-incr.)", "accuracy_matrix"),
    "acc_ta": ("bag acc (task-aware)", "task_aware_accuracy_matrix"),
    "bag_auc": ("bag AUC", "bag_auc"),
    "inst_auc": ("tile AUC", "inst_auc"),
    "dice": ("Dice", "dice"),
}


def matrix(result: dict, key: str) -> np.ndarray:
    where = METRICS[key][1]
    m = result[where] if where in result else result["metric_matrices"][where]
    return np.array(m, dtype=float)


def mean_std(values) -> list[float]:
    v = np.asarray(values, dtype=float)
    return [float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0]


def summarise(results: list[dict]) -> dict:
    """Per metric: the final row (each task after the last task) and its mean, the diagonal
    (each task just after it was trained), the whole matrix (mean over seeds), and
    forgetting of the class-incremental accuracy."""
    out = {"seeds": [r["seed"] for r in results]}
    for key in METRICS:
        ms = np.stack([matrix(r, key) for r in results])  # [seeds, T, T]; NaN above diag
        final = ms[:, -1, :]
        out[key] = dict(final_per_task=[mean_std(final[:, j]) for j in range(ms.shape[2])],
                        final_mean=mean_std(final.mean(1)),
                        just_trained=[mean_std(ms[:, j, j]) for j in range(ms.shape[2])],
                        matrix_mean=ms.mean(0).round(2).tolist())
    out["forgetting"] = mean_std([r["metrics"]["forgetting"] for r in results])
    return out


def finished(result: dict) -> bool:
    """A run that trained every task (the loop also writes the file after each task)."""
    return not np.isnan(np.array(result["accuracy_matrix"], dtype=float)[-1]).any()


def load_sweeps(root: Path) -> dict[str, list[dict]]:
    found = {}
    for config in CONFIGS:
        files = sorted((root / config).glob("runs/*/seed*/continual_results.json"))
        done = [r for r in (json.loads(f.read_text()) for f in files) if finished(r)]
        if done:
            found[config] = done
    return found


def fmt(ms) -> str:
    return "n/a" if ms is None or np.isnan(ms[0]) else f"{ms[0]:.1f} ± {ms[1]:.1f}"


def markdown(summary: dict, convergence: dict, command: str) -> str:
    lines = ["# Continual WSI MIL on three synthetic organ cohorts (CoMEL protocol)", "",
             "Class-incremental, 3 tasks (glands / nuclei / strands), 2 classes each, 24 test "
             "slides per task (12 tumour); 40 epochs per task, Adam 5e-4, cosine; mean ± std "
             "over the seeds listed per row (std 0.0 with one seed). Bag accuracy is the "
             "arg-max over all classes seen (the CoMEL code's definition); task-aware "
             "restricts it to the task's two classes. "
             "Tile AUC pools every tile of the task's test slides; Dice (tumour slides, "
             "min-max attention >= 0.5).", "",
             "Data: `uv run tools/wsi/make_demo_data.py /tmp/wsi_cohorts/organs --tasks glands "
             "nuclei strands --num-slides 64 --test-fraction 0.375 --val-fraction 0.125`; "
             "runs: `ZOO_WSI_TASKS_DATA=/tmp/wsi_cohorts/organs uv run tools/sweep.py "
             "configs/wsi/continual/<config>.py --seeds 0 1 2 --jobs N --out SWEEPS/<config>` "
             "(`--reuse` to add seeds to a sweep; each sweep's command and code state are in "
             "its sweep.json); single-task "
             "check: `ZOO_WSI_EVAL_SPLIT=val ZOO_WSI_TASKS=t1 uv run tools/train.py "
             "configs/wsi/continual/comel_bppl_finetune.py`.", "",
             f"Table made by: `{command}`", "",
             "## After the last task (average over the 3 tasks)", "",
             "| method | seeds | " + " | ".join(v[0] for v in METRICS.values())
             + " | forgetting |", "|---|---|" + "---:|" * (len(METRICS) + 1)]
    for config, s in summary.items():
        seeds = ",".join(map(str, s["seeds"]))
        lines.append(f"| {CONFIGS[config]} | {seeds} | " + " | ".join(fmt(s[k]["final_mean"])
                                                          for k in METRICS)
                     + f" | {fmt(s['forgetting'])} |")
    for key, (label, _) in METRICS.items():
        lines += ["", f"## {label} per task: after the last task (just after training it)", "",
                  "| method | task 1 | task 2 | task 3 |", "|---|---:|---:|---:|"]
        for config, s in summary.items():
            cells = [f"{fmt(f)} ({fmt(d)})" for f, d in zip(s[key]["final_per_task"],
                                                            s[key]["just_trained"])]
            lines.append(f"| {CONFIGS[config]} | " + " | ".join(cells) + " |")
    if convergence:
        lines += ["", "## Single-task convergence (validation split, 8 slides per task; "
                  "one run, seed 0)", "",
                  "| config | task | epochs | val bag acc | val bag AUC | val tile AUC |",
                  "|---|---|---:|---:|---:|---:|"]
        for name, r in sorted(convergence.items()):
            config, task, epochs = name.rsplit("_", 2)
            m = r["metric_matrices"]
            lines.append(f"| {config} | {task} | {epochs[1:]} | {m['bag_acc'][0][0]:.1f} | "
                         f"{m['bag_auc'][0][0]:.1f} | {m['inst_auc'][0][0]:.1f} |")
    return "\n".join(lines) + "\n"


def plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = ["acc", "inst_auc"]
    fig, axes = plt.subplots(len(keys), len(summary), figsize=(3.2 * len(summary), 5.6),
                             sharey="row", squeeze=False)
    for col, (config, s) in enumerate(summary.items()):
        for row, key in enumerate(keys):
            ax = axes[row][col]
            m = np.array(s[key]["matrix_mean"], dtype=float)
            for j in range(m.shape[1]):
                ax.plot(range(j + 1, m.shape[0] + 1), m[j:, j], marker="o", label=f"task {j + 1}")
            ax.set_xticks(range(1, m.shape[0] + 1))
            ax.set_ylim(-5, 105)
            if row == 0:
                ax.set_title(CONFIGS[config], fontsize=8)
            if row == len(keys) - 1:
                ax.set_xlabel("after training task")
            if col == 0:
                ax.set_ylabel(METRICS[key][0])
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    tmp.replace(path)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sweeps", required=True, help="folder with one tools/sweep.py --out per "
                   "config, named as the config")
    p.add_argument("--convergence", help="folder of single-task validation runs")
    p.add_argument("--out", default="benchmarks/results/wsi_continual_organs")
    args = p.parse_args(argv)
    runs = load_sweeps(Path(args.sweeps))
    if not runs:
        raise SystemExit(f"{args.sweeps}: no <config>/runs/*/seed*/continual_results.json "
                         f"for any of {list(CONFIGS)}")
    summary = {c: summarise(r) for c, r in runs.items()}
    convergence = {}
    if args.convergence:
        for f in sorted(Path(args.convergence).glob("*_e*/continual_results.json")):
            convergence[f.parent.name] = json.loads(f.read_text())
    out = Path(args.out)
    command = "uv run benchmarks/wsi_continual_organs.py " + " ".join(argv or [])
    payload = dict(summary=summary, convergence={
        k: {m: v[0][0] for m, v in r["metric_matrices"].items()} for k, r in convergence.items()},
        runs={c: [r["seed"] for r in rs] for c, rs in runs.items()})
    from zoo.fileio import atomic_write_bytes

    atomic_write_bytes(out.with_suffix(".json"), json.dumps(payload, indent=1).encode())
    atomic_write_bytes(out.with_suffix(".md"), markdown(summary, convergence, command).encode())
    plot(summary, out.with_suffix(".png"))
    print(out.with_suffix(".md").read_text())
    return payload


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
