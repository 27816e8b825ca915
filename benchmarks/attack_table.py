"""Success rates of every attack in white-box, transfer and no-box settings on MSR Action3D.

Two trained recognisers A and B (each the other's transfer surrogate) and the attacker's
motion manifold (``tools/train_attack_manifold.py``). For every constraint variant and every
attack, adversarial examples are crafted on A, on B and on the manifold (no-box), and each set
is evaluated on both models:

* white-box: crafted on X, evaluated on X;
* transfer: crafted on the other model, evaluated on X;
* no-box: crafted on the manifold only, evaluated on X.

Each crafted set is cached as one JSON cell in ``--cache-dir`` (runs can be split with
``--sources`` / ``--attacks`` and resumed); the tables are written from all cells to
``benchmarks/results/attacks_msr3d.md`` and ``.json``.

Example::

    OMP_NUM_THREADS=1 uv run benchmarks/attack_table.py \\
        --a configs/attacks/stgcn_msr3d_victim.py /tmp/runs/attack_stgcn/epoch_15.pth \\
        --b configs/attacks/stgcn_msr3d_surrogate.py /tmp/runs/attack_stgcn_b/epoch_15.pth \\
        --manifold /tmp/runs/attack_manifold/msr_manifold.pth --num-samples 48
"""
from __future__ import annotations

import argparse
import json
import os.path as osp
import sys
import time

from zoo.fileio import atomic_write_text

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ATTACK_NAMES = ["FGSM", "IFGSM", "PGD", "MIFGSM", "SMIFGSM"]
CONTROL, CONTROL_SOURCE = "RandomSign", "random"  # equal-budget random noise, no model
VARIANTS = {
    "none": dict(keep_bones=False, max_accel=None),
    "bones": dict(keep_bones=True, max_accel=None),
    "bones+accel": dict(keep_bones=True, max_accel=0.005),
}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--a", nargs=2, metavar=("CONFIG", "CKPT"), required=True, help="model A")
    p.add_argument("--b", nargs=2, metavar=("CONFIG", "CKPT"), required=True, help="model B")
    p.add_argument("--name-a", default="ST-GCN")
    p.add_argument("--name-b", default="ST-GCN-16 (seed 1)")
    p.add_argument("--manifold", required=True, help="attacker's manifold (.pth)")
    p.add_argument("--attacks", nargs="+", default=ATTACK_NAMES)
    p.add_argument("--variants", nargs="+", default=["none", "bones"], choices=list(VARIANTS))
    p.add_argument("--sources", nargs="+", default=["A", "B", "manifold"],
                   choices=["A", "B", "manifold"])
    p.add_argument("--eps", type=float, default=0.01)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--num-samples", type=int, default=48)
    p.add_argument("--cache-dir", default=osp.join(ROOT, "work_dirs", "attack_table"))
    p.add_argument("--out", default=osp.join(ROOT, "benchmarks", "results", "attacks_msr3d"))
    p.add_argument("--tables-only", action="store_true", help="only assemble cached cells")
    return p.parse_args(argv)


def cell_path(args, variant: str, source: str, attack: str) -> str:
    return osp.join(args.cache_dir, f"{variant}__{source}__{attack}.json")


def run_cells(args) -> None:
    sys.path.insert(0, osp.join(ROOT, "tools"))
    from attack import build_attack

    from zoo.attacks.evaluate import config_layout, craft, load_model, load_split, predict, report
    from zoo.attacks.manifold import load_manifold

    model_a, cfg_a = load_model(*args.a)
    model_b, _ = load_model(*args.b)
    layout = config_layout(cfg_a)
    x, y = load_split(cfg_a, "test", 1, args.num_samples)
    manifold = load_manifold(args.manifold) if "manifold" in args.sources else None
    sources = {"A": model_a, "B": model_b, "manifold": None}
    clean = {"A": predict(model_a, x), "B": predict(model_b, x)}
    for variant in args.variants:
        for name in args.attacks:
            for source in args.sources:
                path = cell_path(args, variant, source, name)
                if osp.isfile(path):
                    continue
                attack = build_attack(name, args.eps, args.steps, layout,
                                      manifold=manifold if source == "manifold" else None,
                                      **VARIANTS[variant])
                start = time.time()
                x_adv = craft(attack, sources[source], x, y)
                cell = dict(variant=variant, source=source, attack=name, eps=args.eps,
                            steps=args.steps, seconds=time.time() - start,
                            on_A=report(model_a, x, x_adv, y, layout, clean["A"]),
                            on_B=report(model_b, x, x_adv, y, layout, clean["B"]))
                atomic_write_text(path, json.dumps(cell, indent=1))
                print(f"{variant:12s} {source:9s} {name:8s} success on A "
                      f"{cell['on_A']['success_rate']:5.1f}%  on B "
                      f"{cell['on_B']['success_rate']:5.1f}%  ({cell['seconds']:.0f} s)",
                      flush=True)
        # control: random signs of the same budget and constraints (no model, no manifold)
        path = cell_path(args, variant, CONTROL_SOURCE, CONTROL)
        if not osp.isfile(path):
            x_rand = craft(build_attack(CONTROL, args.eps, 1, layout, **VARIANTS[variant]),
                           None, x, y, progress=False)
            cell = dict(variant=variant, source=CONTROL_SOURCE, attack=CONTROL, eps=args.eps,
                        steps=1, seconds=0.0,
                        on_A=report(model_a, x, x_rand, y, layout, clean["A"]),
                        on_B=report(model_b, x, x_rand, y, layout, clean["B"]))
            atomic_write_text(path, json.dumps(cell, indent=1))


def fmt(v) -> str:
    return "–" if v is None else f"{v:.1f}"


def write_tables(args) -> None:
    cells = {}
    for variant in VARIANTS:
        pairs = [(source, name) for source in ("A", "B", "manifold") for name in ATTACK_NAMES]
        for source, name in pairs + [(CONTROL_SOURCE, CONTROL)]:
            path = cell_path(args, variant, source, name)
            if osp.isfile(path):
                with open(path) as f:
                    cells[(variant, source, name)] = json.load(f)
    if not cells:
        raise FileNotFoundError(f"no cached cells in {args.cache_dir}; run without --tables-only")

    def sr(variant, source, name, on):
        cell = cells.get((variant, source, name))
        return None if cell is None else cell[f"on_{on}"]["success_rate"]

    a, b = args.name_a, args.name_b
    any_cell = next(iter(cells.values()))
    lines = [
        "# Adversarial attacks on MSR Action3D (cross-subject test split)",
        "",
        f"Attack success rate (%) = share of the correctly classified test samples that the "
        f"adversarial version makes misclassified. {any_cell['on_A']['num_samples']} evenly "
        f"spaced test samples, 1 clip of 32 frames, l-inf budget eps = {any_cell['eps']} on "
        f"joint coordinates, {any_cell['steps']} steps (FGSM: 1). Model A = {a} "
        f"(clean accuracy {any_cell['on_A']['clean_acc']:.1f}% on these samples), model B = {b} "
        f"({any_cell['on_B']['clean_acc']:.1f}%). Transfer: crafted on the other model; "
        "no-box: crafted on the attacker's sequence-autoencoder manifold (SMI paper's loss), "
        "no model access. The control row is random ±eps signs under the same constraints "
        "(no model, no manifold): an attack only shows an effect where it beats that row.",
        "",
    ]
    for variant in VARIANTS:
        if not any(k[0] == variant for k in cells):
            continue
        lines += [f"## Constraint: {variant}", "",
                  f"| attack | white-box {a} | white-box {b} | transfer {b} → {a} | "
                  f"transfer {a} → {b} | no-box → {a} | no-box → {b} |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for name in ATTACK_NAMES:
            row = [sr(variant, "A", name, "A"), sr(variant, "B", name, "B"),
                   sr(variant, "B", name, "A"), sr(variant, "A", name, "B"),
                   sr(variant, "manifold", name, "A"), sr(variant, "manifold", name, "B")]
            if all(v is None for v in row):
                continue
            lines.append(f"| {name} | " + " | ".join(fmt(v) for v in row) + " |")
        if (variant, CONTROL_SOURCE, CONTROL) in cells:
            ra, rb = (sr(variant, CONTROL_SOURCE, CONTROL, m) for m in "AB")
            lines.append(f"| control: random ±eps signs | {fmt(ra)} | {fmt(rb)} | {fmt(ra)} | "
                         f"{fmt(rb)} | {fmt(ra)} | {fmt(rb)} |")
        lines.append("")
    lines += ["## Perturbations (crafted sets, measured on the clean/adversarial pairs)", "",
              "| constraint | crafted on | attack | l-inf | mean l2 / sample | mean joint "
              "displacement | max bone-length change | mean / max accel. change | seconds |",
              "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for (variant, source, name), cell in sorted(cells.items()):
        s = cell["on_A"]
        lines.append(f"| {variant} | {source} | {name} | {s['linf']:.4f} | {s['l2']:.3f} | "
                     f"{s['joint_disp']:.4f} | {s['bone_dev_max']:.1e} | "
                     f"{s['accel_dev_mean']:.4f} / {s['accel_dev_max']:.4f} | "
                     f"{cell['seconds']:.0f} |")
    lines.append("")
    atomic_write_text(args.out + ".md", "\n".join(lines))
    payload = dict(model_a=dict(name=a, config=args.a[0], checkpoint=args.a[1]),
                   model_b=dict(name=b, config=args.b[0], checkpoint=args.b[1]),
                   manifold=args.manifold, cells=list(cells.values()))
    atomic_write_text(args.out + ".json", json.dumps(payload, indent=1))
    print(f"Tables written to {args.out}.md / .json", flush=True)


def main(argv=None) -> None:
    args = parse_args(argv)
    if not args.tables_only:
        import torch

        torch.set_num_threads(1)
        run_cells(args)
    write_tables(args)


if __name__ == "__main__":
    main()
