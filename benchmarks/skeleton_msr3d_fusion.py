"""Multi-stream late fusion on MSR Action3D cross-subject, per seed, from ``tools/sweep.py``
runs: one sweep folder per stream (``--runs-dir``/<folder>), the same seeds in each.

For every seed that finished in every stream, the final checkpoint of each stream is tested
once more with ``tools/test.py --dump`` (the run's own saved config, so its overrides hold;
the dumps are kept in ``--runs-dir``/fusion_dumps and reused), then the class scores are
added with each ``--weights`` set (``zoo.evaluation.fusion``). Writes the per-seed table and
mean ± sample std over seeds to ``--out``.{md,json}::

    uv run benchmarks/skeleton_msr3d_fusion.py --runs-dir work_dirs/msr --amp \\
        --streams j=stgcn_j_amp b=stgcn_b_amp jm=stgcn_jm_amp bm=stgcn_bm_amp \\
        --weights 1 1 1 1 --weights 0.6 0.6 0.4 0.4
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from zoo.evaluation.fusion import fuse_predictions  # noqa: E402
from zoo.fileio import atomic_write_text  # noqa: E402
from zoo.sweep import read_run_metrics, summarise  # noqa: E402


def finished_seeds(sweep: Path) -> dict[int, Path]:
    """Seed -> work dir of the runs in a sweep folder that wrote their final test metrics."""
    done = {}
    for work_dir in sorted((sweep / "runs" / "default").glob("seed*")):
        try:
            read_run_metrics(work_dir)
        except (FileNotFoundError, ValueError):
            continue
        done[int(work_dir.name[4:])] = work_dir
    return done


def final_checkpoint(work_dir: Path) -> tuple[Path, Path]:
    """The run's saved config (mmengine writes the merged config into its work dir) and its
    last checkpoint (named in ``last_checkpoint``)."""
    configs = sorted(work_dir.glob("*.py"))
    if len(configs) != 1:
        raise FileNotFoundError(f"{work_dir}: expected one saved config, found {configs}")
    marker = work_dir / "last_checkpoint"
    if not marker.is_file():
        raise FileNotFoundError(f"{marker}: the run saved no checkpoint")
    ckpt = Path(marker.read_text().strip())
    if not ckpt.is_absolute():
        ckpt = ROOT / ckpt
    return configs[0], ckpt


def dump_scores(work_dir: Path, out: Path, amp: bool) -> Path:
    """``tools/test.py --dump`` of the run's final checkpoint (kept: made once)."""
    if out.is_file():
        return out
    config, ckpt = final_checkpoint(work_dir)
    cmd = [sys.executable, str(ROOT / "tools/test.py"), str(config), str(ckpt), "--dump",
           str(out), "--work-dir", str(out.with_suffix("")) + "_test"]
    if amp:
        cmd.append("--amp")
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0 or not out.is_file():
        raise RuntimeError(f"tools/test.py failed for {work_dir}:\n{done.stdout[-2000:]}"
                           f"{done.stderr[-2000:]}")
    return out


def summary(values: list[float]) -> dict:
    return dict(summarise(values), values=values)


def fuse(runs_dir: Path, streams: dict[str, str], weight_sets: list[list[float]],
         amp: bool) -> dict:
    done = {name: finished_seeds(runs_dir / folder) for name, folder in streams.items()}
    seeds = sorted(set.intersection(*(set(d) for d in done.values())))
    if not seeds:
        raise SystemExit("no seed finished in every stream: "
                         + ", ".join(f"{n}: {sorted(d)}" for n, d in done.items()))
    dumps_dir = runs_dir / "fusion_dumps"
    dumps_dir.mkdir(parents=True, exist_ok=True)
    per_seed = []
    for seed in seeds:
        files = [str(dump_scores(done[name][seed], dumps_dir / f"{folder}_seed{seed}.npz", amp))
                 for name, folder in streams.items()]
        record = dict(seed=seed, streams={}, fused={})
        for weights in weight_sets:
            result = fuse_predictions(files, weights)
            record["streams"] = dict(zip(streams, result.top1))
            record["fused"][":".join(f"{w:g}" for w in weights)] = result.fused_top1
        per_seed.append(record)
    streams_summary = {n: summary([r["streams"][n] for r in per_seed]) for n in streams}
    fused_summary = {k: summary([r["fused"][k] for r in per_seed]) for k in per_seed[0]["fused"]}
    return dict(streams=streams, seeds=seeds, per_seed=per_seed, stream_top1=streams_summary,
                fused_top1=fused_summary, skipped={n: sorted(set(d) - set(seeds))
                                                  for n, d in done.items()})


def markdown(result: dict, command: str, note: str) -> str:
    names = list(result["streams"])
    keys = list(result["fused_top1"])
    lines = ["# Multi-stream late fusion, MSR Action3D cross-subject (275 test sequences)", "",
             f"Command: `{command}`", "",
             "Top-1 (%) of each stream's final checkpoint (10 test clips) and of the weighted "
             "sum of their class probabilities; one row per seed, then mean ± sample std.", "",
             "| seed | " + " | ".join(f"{n} (`{result['streams'][n]}`)" for n in names) + " | "
             + " | ".join(f"fusion {k}" for k in keys) + " |",
             "|---|" + "---:|" * (len(names) + len(keys))]
    for r in result["per_seed"]:
        lines.append(f"| {r['seed']} | " + " | ".join(f"{r['streams'][n]:.1f}" for n in names)
                     + " | " + " | ".join(f"{r['fused'][k]:.1f}" for k in keys) + " |")
    cells = [result["stream_top1"][n] for n in names] + [result["fused_top1"][k] for k in keys]
    lines.append("| mean ± std | " + " | ".join(
        f"{c['mean']:.1f} ± {c['std']:.1f} (n = {c['n']})" for c in cells) + " |")
    skipped = {n: s for n, s in result["skipped"].items() if s}
    if skipped:
        lines += ["", "Seeds left out (not finished in every stream): "
                  + ", ".join(f"{n}: {s}" for n, s in skipped.items())]
    return "\n".join(lines) + ("\n\n" + note.strip() if note else "") + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", default="work_dirs/msr")
    parser.add_argument("--streams", nargs="+", required=True, metavar="NAME=FOLDER",
                        help="stream name and its sweep folder under --runs-dir")
    parser.add_argument("--weights", nargs="+", type=float, action="append",
                        help="one weight per stream; repeat for several fusions")
    parser.add_argument("--amp", action="store_true", help="test in bf16 (as the runs trained)")
    parser.add_argument("--note", default="")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/stgcn_msr3d_4stream"))
    args = parser.parse_args(argv)
    streams = dict(s.split("=", 1) for s in args.streams)
    weight_sets = args.weights or [[1.0] * len(streams)]
    for w in weight_sets:
        if len(w) != len(streams):
            parser.error(f"--weights {w}: {len(streams)} streams need {len(streams)} weights")
    result = fuse(Path(args.runs_dir), streams, weight_sets, args.amp)
    command = (f"uv run benchmarks/skeleton_msr3d_fusion.py --runs-dir {args.runs_dir}"
               + (" --amp" if args.amp else "") + " --streams " + " ".join(args.streams) + " "
               + " ".join("--weights " + " ".join(f"{x:g}" for x in w) for w in weight_sets))
    result["command"] = command
    atomic_write_text(args.out + ".json", json.dumps(result, indent=2))
    atomic_write_text(args.out + ".md", markdown(result, command, args.note))
    print(Path(args.out + ".md").read_text())
    return result


if __name__ == "__main__":
    main()
