"""WSI tile features per second, fp32 vs bf16 autocast (``extract_features.py --amp``), with
NCHW and with channels-last weights (``--channels-last``).

Runs :func:`zoo.datasets.wsi.features.extract_slide` (the extraction path of
``tools/wsi/extract_features.py``) on one synthetic slide with CLAM's encoder (timm
``resnet50.tv_in1k`` to ``layer3``, 1024-d) in fp32 and under ``amp=True``, each with NCHW and
with channels-last weights, interleaved (``--repeats`` rounds, the order alternating), single
thread. Reports the encoder's tiles/s (median and range) and each mode's agreement with the
fp32 NCHW features per tile (cosine similarity, relative L2 error).

No pretrained weights can be downloaded on the benchmark machine, so the encoder is randomly
initialised; timm zero-initialises the last BatchNorm of each residual block, which would make
the blocks identities, so those scales are set to 1 (random but non-degenerate features).

Run: ``OMP_NUM_THREADS=1 nice -n 10 uv run python benchmarks/wsi_features_amp.py``.
Writes ``benchmarks/results/wsi_features_amp.{json,md}``.
"""
from __future__ import annotations

import argparse
import copy
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
    enc_cl = copy.deepcopy(enc)  # extract_slide(channels_last=True) converts it in place
    modes = {"fp32": (enc, False, False), "bf16": (enc, True, False),
             "fp32 channels-last": (enc_cl, False, True),
             "bf16 channels-last": (enc_cl, True, True)}
    rates: dict[str, list[float]] = {m: [] for m in modes}
    feats: dict[str, torch.Tensor] = {}
    with tempfile.TemporaryDirectory() as tmp:
        slide = Path(tmp) / "slide.tiff"
        make_synthetic_slide(slide, tumour=True, seed=0, size=tuple(args.size), mpp=0.5)
        for r in range(args.repeats):
            order = list(modes) if r % 2 == 0 else list(modes)[::-1]
            for mode in order:
                from zoo.datasets.wsi.features import ExtractionReport

                model, amp, channels_last = modes[mode]
                report = ExtractionReport()
                bag = extract_slide(slide, model, target_mpp=0.5, tile_px=224,
                                    batch_size=args.batch_size, progress=False, report=report,
                                    amp=amp, channels_last=channels_last)
                rates[mode].append(report.tiles / report.encode_seconds)
                feats.setdefault(mode, bag["features"])
                print(mode, f"{rates[mode][-1]:.2f} tiles/s", flush=True)

    def agreement(mode: str) -> dict:
        cos = torch.nn.functional.cosine_similarity(feats["fp32"], feats[mode], dim=1)
        rel = (feats[mode] - feats["fp32"]).norm(dim=1) / feats["fp32"].norm(dim=1)
        return dict(cosine_min=float(cos.min()), cosine_median=float(cos.median()),
                    relative_l2_max=float(rel.max()), relative_l2_median=float(rel.median()))

    summary = {m: dict(median=statistics.median(v), min=min(v), max=max(v), runs=v)
               for m, v in rates.items()}
    median = {m: v["median"] for m, v in summary.items()}
    results = dict(
        command="OMP_NUM_THREADS=1 nice -n 10 uv run python benchmarks/wsi_features_amp.py "
                + " ".join(sys.argv[1:] if argv is None else argv),
        backbone=args.backbone, out_index=args.out_index, tiles=int(feats["fp32"].shape[0]),
        dim=int(feats["fp32"].shape[1]), batch_size=args.batch_size, threads=1,
        tiles_per_second=summary,
        speedup_median=median["bf16"] / median["fp32"],
        speedups_median={f"{m} / fp32": median[m] / median["fp32"] for m in modes if m != "fp32"}
        | {"bf16 channels-last / bf16": median["bf16 channels-last"] / median["bf16"]},
        agreement_with_fp32={m: agreement(m) for m in modes if m != "fp32"},
        load_average=os.getloadavg(), cpu=open("/proc/cpuinfo").read().split("model name")[1]
        .split("\n")[0].strip(": \t"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "wsi_features_amp.json", json.dumps(results, indent=2))
    lines = [
        "# WSI tile features: fp32 vs bf16 autocast (`extract_features.py --amp`) and "
        "channels-last weights (`--channels-last`)", "",
        f"Command: `{results['command'].strip()}`", "",
        f"{args.backbone} to stage {args.out_index} ({results['dim']}-d, random weights: see "
        f"the script), {results['tiles']} tiles of 224 px from one synthetic slide, batch "
        f"{args.batch_size}, one thread, {args.repeats} interleaved rounds, CPU "
        f"{results['cpu']}; load average at the end {results['load_average'][0]:.1f} on 2 "
        "cores (compare the rows, not absolute rates).", "",
        "| mode | tiles/s median | range | vs fp32 | cosine to fp32 (min) | relative L2 error "
        "to fp32 (max) |", "|---|---:|---:|---:|---:|---:|"]
    for m in modes:
        a = results["agreement_with_fp32"].get(m)
        lines.append(f"| {m} | {median[m]:.2f} | {summary[m]['min']:.2f}-{summary[m]['max']:.2f}"
                     f" | {median[m] / median['fp32']:.2f}x | "
                     + ("-" if a is None else f"{a['cosine_min']:.6f}") + " | "
                     + ("-" if a is None else f"{a['relative_l2_max']:.2e}") + " |")
    lines += ["", "bf16 channels-last / bf16 (medians): "
              f"{results['speedups_median']['bf16 channels-last / bf16']:.2f}x."]
    atomic_write_text(out / "wsi_features_amp.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return results


if __name__ == "__main__":
    main()
