"""Extract tile features of every slide in a folder (or list) into one ``.pt`` file per slide.

Example (CPU, the synthetic demo slides)::

    uv run tools/wsi/extract_features.py SLIDE_DIR FEATURE_DIR --mpp 0.5 --tile-px 224 \
        --backbone resnet50.tv_in1k --out-index 3 --weights zoo://NAME_OR_PATH

Resumable (finished slides are skipped: their file loads and holds the same settings; a
truncated file is extracted again, files made with other settings stop the run unless
``--overwrite``), sharded with ``--shard i/n`` or by the
``RANK``/``WORLD_SIZE`` variables of ``torchrun``; bad slides are listed, the rest continue.
"""
from __future__ import annotations

import argparse
import os
import sys


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("slides", help="folder of slides, one slide file, or a text file with one "
                                  "slide path a line")
    p.add_argument("out_dir", help="folder for <slide_id>.pt feature files")
    p.add_argument("--backbone", default="resnet50.tv_in1k", help="timm model name")
    p.add_argument("--out-index", default="3",
                   help="features_only stage index (resnet: 3 = layer3, 1024-d for resnet50); "
                        "'none' for the model's pooled output")
    p.add_argument("--weights", default=None,
                   help="checkpoint: local path, URL or zoo://NAME; 'timm' downloads timm's "
                        "weights; default random init (warning: for tests only)")
    p.add_argument("--mpp", type=float, default=None, help="target microns per pixel")
    p.add_argument("--magnification", type=float, default=None,
                   help="target magnification (20 -> 0.5 um/px); alternative to --mpp")
    p.add_argument("--assume-mpp", type=float, default=None,
                   help="level-0 um/px for slides without resolution metadata")
    p.add_argument("--tile-px", type=int, default=224)
    p.add_argument("--min-tissue", type=float, default=0.5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--num-workers", type=int, default=0)
    p.add_argument("--shard", default=None, help="i/n: process slides i, i+n, ...")
    p.add_argument("--overwrite", action="store_true",
                   help="extract every slide again (needed when existing files were made with "
                        "other settings)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--device", default="cpu")
    p.add_argument("--amp", action="store_true",
                   help="bf16 autocast for the encoder (recorded in the files' settings)")
    return p.parse_args(argv)


def resolve_shard(text: str | None) -> tuple[int, int]:
    if text:
        try:
            i, n = (int(v) for v in text.split("/"))
        except ValueError:
            raise SystemExit(f"--shard must look like 0/4, got {text!r}") from None
        return i, n
    if "WORLD_SIZE" in os.environ:
        return int(os.environ.get("RANK", 0)), int(os.environ["WORLD_SIZE"])
    return 0, 1


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch
    from zoo.datasets.wsi.features import FeatureSettingsError, extract_folder, resolve_slides
    from zoo.datasets.wsi.slide import mpp_from_magnification
    from zoo.models.mil.encoder import TileEncoder

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.mpp is None:
        args.mpp = mpp_from_magnification(args.magnification) if args.magnification else 0.5
    try:
        slides = resolve_slides(args.slides)
    except (OSError, ValueError) as exc:
        print(f"extract_features.py: error: {exc}", file=sys.stderr)
        return 2
    out_index = None if str(args.out_index).lower() == "none" else int(args.out_index)
    encoder = TileEncoder(args.backbone, out_index, args.weights).to(args.device)
    shard = resolve_shard(args.shard)
    try:
        report = extract_folder(slides, args.out_dir, encoder, shard=shard,
                                overwrite=args.overwrite, target_mpp=args.mpp,
                                tile_px=args.tile_px, min_tissue=args.min_tissue,
                                batch_size=args.batch_size, num_workers=args.num_workers,
                                assume_mpp=args.assume_mpp, amp=args.amp)
    except FeatureSettingsError as exc:
        print(f"extract_features.py: error: {exc}", file=sys.stderr)
        return 2
    print(f"shard {shard[0]}/{shard[1]}: {len(report.done)} extracted, {len(report.skipped)} "
          f"already done, {len(report.failed)} failed; {report.tiles} tiles "
          f"(read {report.read_seconds:.1f}s, encode {report.encode_seconds:.1f}s)")
    for sid, msg in report.failed.items():
        print(f"FAILED {sid}: {msg}", file=sys.stderr)
    return 1 if report.failed and not report.done and not report.skipped else 0


if __name__ == "__main__":
    sys.exit(main())
