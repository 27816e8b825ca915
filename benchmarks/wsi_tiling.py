"""Tile reading (tiles/s) and feature extraction (features/s) on this CPU.

Writes ``benchmarks/results/wsi_tiling.json``. Example:
``OMP_NUM_THREADS=1 uv run benchmarks/wsi_tiling.py --threads 1``
The slide is a synthetic 2048 x 3072 px pyramidal TIFF (zlib tiles of 128 px); reading is
OpenSlide ``read_region`` per tile, encoding a random-init timm model on the CPU. Note the
machine load at the time (it is printed and stored): shared CPUs make these numbers noisy.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import warnings
from pathlib import Path


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--tile-px", type=int, default=224)
    p.add_argument("--backbones", nargs="+", default=["resnet18:3", "resnet50.tv_in1k:3"])
    p.add_argument("--max-tiles", type=int, default=64)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "wsi_tiling.json"))
    args = p.parse_args(argv)

    import torch
    from zoo.datasets.wsi.slide import open_slide, read_tile, tile_grid, tissue_mask
    from zoo.datasets.wsi.synthetic import make_synthetic_slide
    from zoo.models.mil.encoder import TileEncoder

    from zoo.engine.atomic_io import atomic_write_bytes

    torch.set_num_threads(args.threads)
    result: dict = dict(threads=args.threads, tile_px=args.tile_px,
                        load_average=os.getloadavg(), cpu_count=os.cpu_count())
    with tempfile.TemporaryDirectory() as tmp:
        s = make_synthetic_slide(Path(tmp) / "bench.tiff", tumour=True, seed=0, size=(2048, 3072))
        slide = open_slide(s.path)
        t = time.perf_counter()
        mask = tissue_mask(slide)
        result["tissue_mask_s"] = time.perf_counter() - t
        grid = tile_grid(slide, mask, 0.5, args.tile_px, 0.5)
        n = min(len(grid.coords), args.max_tiles)
        t = time.perf_counter()
        tiles = [read_tile(slide, grid, i) for i in range(n)]
        result["read_tiles_per_s"] = n / (time.perf_counter() - t)
        batch = torch.from_numpy(__import__("numpy").stack(tiles))
        for spec in args.backbones:
            name, idx = spec.split(":")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                enc = TileEncoder(name, int(idx))
            enc(batch[:2])  # warm-up
            t = time.perf_counter()
            for i in range(0, n, 16):
                enc(batch[i:i + 16])
            result[f"features_per_s[{spec}]"] = n / (time.perf_counter() - t)
        result["tiles_timed"] = n
    atomic_write_bytes(args.out, json.dumps(result, indent=1).encode())
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
