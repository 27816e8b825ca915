"""WSI tile features per second, fp32 vs bf16 autocast (``extract_features.py --amp``).

Runs :func:`zoo.datasets.wsi.features.extract_slide` (the extraction path of
``tools/wsi/extract_features.py``) on one synthetic slide with CLAM's encoder (timm
``resnet50.tv_in1k`` to ``layer3``, 1024-d) in fp32 and under ``amp=True``, interleaved
(``--repeats`` rounds, the order alternating), single thread. Reports the encoder's tiles/s
(median and range) and the cosine similarity of the two runs' feature vectors per tile.

No pretrained weights can be downloaded on the benchmark machine, so the encoder is randomly
initialised; timm zero-initialises the last BatchNorm of each residual block, which would make
the blocks identities, so those scales are set to 1 (random but non-degenerate features).

Run: ``OMP_NUM_THREADS=1 nice -n 10 uv run python benchmarks/wsi_features_amp.py``.
Writes ``benchmarks/results/wsi_features_amp.{json,md}``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import warnings
from pathlib import Path

import torch

from zoo.fileio import atomic_write_text

REPO = Path(__file__).resolve().parents[1]


def encoder(backbone: str, out_index: int) -> torch.nn.Module:
    from zoo.models.mil.encoder import TileEncoder

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        enc = TileEncoder(backbone, out_index, None)
    with torch.no_grad():
        for module in enc.modules():
            if isinstance(module, torch.nn.BatchNorm2d) and not module.weight.any():
                module.weight.fill_(1.0)
    return enc.eval()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="resnet50.tv_in1k")
    parser.add_argument("--out-index", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--size", type=int, nargs=2, default=(1536, 2048))
    parser.add_argument("--out", default=str(REPO / "benchmarks/results"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from zoo.datasets.wsi.features import extract_slide
    from zoo.datasets.wsi.synthetic import make_synthetic_slide

    enc = encoder(args.backbone, args.out_index)
    rates: dict[str, list[float]] = {"fp32": [], "bf16": []}
    feats: dict[str, torch.Tensor] = {}
    with tempfile.TemporaryDirectory() as tmp:
        slide = Path(tmp) / "slide.tiff"
        make_synthetic_slide(slide, tumour=True, seed=0, size=tuple(args.size), mpp=0.5)
        for r in range(args.repeats):
            order = ("fp32", "bf16") if r % 2 == 0 else ("bf16", "fp32")
            for mode in order:
                from zoo.datasets.wsi.features import ExtractionReport

                report = ExtractionReport()
                bag = extract_slide(slide, enc, target_mpp=0.5, tile_px=224,
                                    batch_size=args.batch_size, progress=False, report=report,
                                    amp=mode == "bf16")
                rates[mode].append(report.tiles / report.encode_seconds)
                feats.setdefault(mode, bag["features"])
                print(mode, f"{rates[mode][-1]:.2f} tiles/s", flush=True)
    cos = torch.nn.functional.cosine_similarity(feats["fp32"], feats["bf16"], dim=1)
    rel = ((feats["bf16"] - feats["fp32"]).norm(dim=1) / feats["fp32"].norm(dim=1))
    summary = {m: dict(median=statistics.median(v), min=min(v), max=max(v), runs=v)
               for m, v in rates.items()}
    results = dict(
        command="OMP_NUM_THREADS=1 nice -n 10 uv run python benchmarks/wsi_features_amp.py "
                + " ".join(sys.argv[1:] if argv is None else argv),
        backbone=args.backbone, out_index=args.out_index, tiles=int(feats["fp32"].shape[0]),
        dim=int(feats["fp32"].shape[1]), batch_size=args.batch_size, threads=1,
        tiles_per_second=summary,
        speedup_median=summary["bf16"]["median"] / summary["fp32"]["median"],
        cosine=dict(min=float(cos.min()), median=float(cos.median())),
        relative_l2_error=dict(max=float(rel.max()), median=float(rel.median())),
        load_average=os.getloadavg(), cpu=open("/proc/cpuinfo").read().split("model name")[1]
        .split("\n")[0].strip(": \t"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "wsi_features_amp.json", json.dumps(results, indent=2))
    f, b = summary["fp32"], summary["bf16"]
    lines = [
        "# WSI tile features: fp32 vs bf16 autocast (`extract_features.py --amp`)", "",
        f"Command: `{results['command']}`", "",
        f"{args.backbone} to stage {args.out_index} ({results['dim']}-d, random weights: see "
        f"the script), {results['tiles']} tiles of 224 px from one synthetic slide, batch "
        f"{args.batch_size}, one thread, {args.repeats} interleaved rounds, CPU "
        f"{results['cpu']}; load average at the end {results['load_average'][0]:.1f} on 2 "
        "cores (shared machine: compare the columns, not absolute rates).", "",
        "| precision | tiles/s median | range |", "|---|---:|---:|",
        f"| fp32 | {f['median']:.2f} | {f['min']:.2f}-{f['max']:.2f} |",
        f"| bf16 | {b['median']:.2f} | {b['min']:.2f}-{b['max']:.2f} |", "",
        f"bf16 / fp32 (medians): {results['speedup_median']:.2f}x. Feature agreement per tile: "
        f"cosine similarity min {results['cosine']['min']:.5f}, median "
        f"{results['cosine']['median']:.5f}; relative L2 error max "
        f"{results['relative_l2_error']['max']:.4f}, median "
        f"{results['relative_l2_error']['median']:.4f}.",
    ]
    atomic_write_text(out / "wsi_features_amp.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return results


if __name__ == "__main__":
    main()
