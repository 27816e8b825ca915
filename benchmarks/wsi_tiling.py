"""Tile reading (tiles/s) and feature extraction (features/s) on this CPU.

Writes ``benchmarks/results/wsi_tiling.json`` and ``wsi_tiling.md``. Example:
``OMP_NUM_THREADS=1 nice -n 10 uv run benchmarks/wsi_tiling.py --threads 1 2 --repeats 5``
The slide is a synthetic 2048 x 3072 px pyramidal TIFF (zlib tiles of 128 px); reading is
OpenSlide ``read_region`` per tile (+ alpha compositing and, at a coarser level, resizing),
encoding a random-init timm model on the CPU in batches of 16. Every measurement is repeated
``--repeats`` times; the median and the spread (min, max) are stored. Reading is single
threaded (one OpenSlide handle); the thread count applies to the encoder (``torch``).
Note the machine load at the time (printed and stored): shared CPUs make these numbers noisy.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def _timed(fn, n_items: int, repeats: int) -> dict:
    """Items per wall-clock second (median, min, max) and per CPU second of this process
    (``time.process_time``: all its threads; robust to other load on a shared machine)."""
    rates, cpu_rates = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        rates.append(n_items / (time.perf_counter() - t))
        cpu_rates.append(n_items / max(time.process_time() - c, 1e-9))
    return dict(median=statistics.median(rates), min=min(rates), max=max(rates),
                per_cpu_second=statistics.median(cpu_rates), repeats=repeats)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--tile-px", type=int, default=224)
    p.add_argument("--backbones", nargs="+", default=["resnet18:3", "resnet50.tv_in1k:3"])
    p.add_argument("--max-tiles", type=int, default=64)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", default=str(RESULTS / "wsi_tiling.json"))
    args = p.parse_args(argv)

    import numpy as np
    import torch
    from zoo.datasets.wsi.slide import open_slide, read_tile, tile_grid, tissue_mask
    from zoo.datasets.wsi.synthetic import make_synthetic_slide
    from zoo.models.mil.encoder import TileEncoder

    from zoo.fileio import atomic_write_bytes

    result: dict = dict(tile_px=args.tile_px, repeats=args.repeats, cpu_count=os.cpu_count(),
                        load_average_start=list(os.getloadavg()), torch=torch.__version__,
                        read={}, features={})
    with tempfile.TemporaryDirectory() as tmp:
        s = make_synthetic_slide(Path(tmp) / "bench.tiff", tumour=True, seed=0, size=(2048, 3072))
        slide = open_slide(s.path)
        t = time.perf_counter()
        mask = tissue_mask(slide)
        result["tissue_mask_s"] = time.perf_counter() - t
        for mpp in (0.5, 1.0):  # level 0 as is / level 0 read at 2x the size and resized
            grid = tile_grid(slide, mask, mpp, args.tile_px, 0.5)
            n = min(len(grid.coords), args.max_tiles)
            result["read"][f"mpp{mpp:g}"] = dict(
                tiles=n, level=int(grid.level), read_px=int(grid.level_size),
                **_timed(lambda g=grid, n=n: [read_tile(slide, g, i) for i in range(n)], n,
                         args.repeats))
        grid = tile_grid(slide, mask, 0.5, args.tile_px, 0.5)
        n = min(len(grid.coords), args.max_tiles)
        batch = torch.from_numpy(np.stack([read_tile(slide, grid, i) for i in range(n)]))
        for threads in args.threads:
            torch.set_num_threads(threads)
            for spec in args.backbones:
                name, idx = spec.split(":")
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    enc = TileEncoder(name, int(idx))
                enc(batch[:2])  # warm-up

                def run(enc=enc):
                    for i in range(0, n, 16):
                        enc(batch[i:i + 16])

                result["features"][f"{spec}@{threads}thr"] = dict(
                    tiles=n, out_dim=enc.out_dim, threads=threads, **_timed(run, n, args.repeats))
    result["load_average_end"] = list(os.getloadavg())
    atomic_write_bytes(args.out, json.dumps(result, indent=1).encode())
    lines = ["# WSI tiling benchmark (`benchmarks/wsi_tiling.py`)", "",
             f"{args.tile_px}-px tiles, median of {args.repeats} repeats (min-max), "
             f"{os.cpu_count()} CPUs, load average {result['load_average_start'][0]:.2f} at start,"
             f" {result['load_average_end'][0]:.2f} at end (shared machine).", "",
             "Wall-clock rates depend on the other load; per CPU-second rates do not (for 2",
             "threads they sum both threads' CPU time).", "",
             "| measurement | tiles | per second (median) | min | max | per CPU-second |",
             "|---|---:|---:|---:|---:|---:|"]
    for key, r in result["read"].items():
        lines.append(f"| read {key} (level {r['level']}, {r['read_px']} px read) | {r['tiles']} |"
                     f" {r['median']:.1f} | {r['min']:.1f} | {r['max']:.1f} |"
                     f" {r['per_cpu_second']:.1f} |")
    for key, r in result["features"].items():
        lines.append(f"| features {key} ({r['out_dim']}-d) | {r['tiles']} | {r['median']:.1f} |"
                     f" {r['min']:.1f} | {r['max']:.1f} | {r['per_cpu_second']:.1f} |")
    md = "\n".join(lines) + "\n"
    atomic_write_bytes(Path(args.out).with_suffix(".md"), md.encode())
    print(md)
    return result


if __name__ == "__main__":
    main()
