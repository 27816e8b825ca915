"""Build the synthetic WSI demo cohort: slides, tumour annotations, labels and features.

Example: ``uv run tools/wsi/make_demo_data.py data/wsi_synthetic --num-slides 24``
writes ``slides/*.tiff``, ``slides/annotations/*.npz``, ``slides/labels.csv`` (with a
``split`` column) and ``features/*.pt`` (truncated resnet18, layer2, 128-d, random weights:
the synthetic tumour differs in colour and texture, which random convolutions still see).
Existing slides and feature files are reused (resumable).

Continual tasks: ``uv run tools/wsi/make_demo_data.py data/wsi_synthetic_tasks --tasks ihc he
--num-slides 16`` writes one cohort per style (``--num-slides`` per task; slide ids
``t1_slide_000`` ...) with a ``task`` column (``t1``, ``t2``) in ``labels.csv``; see
``zoo.datasets.wsi.synthetic`` for what the styles are. The three-organ cohort of the CoMEL
comparison (docs/wsi.md section 6; 64 slides per task: 32 train, 8 val, 24 test)::

    uv run tools/wsi/make_demo_data.py /tmp/wsi_cohorts/organs --tasks glands nuclei strands \
        --num-slides 64 --test-fraction 0.375 --val-fraction 0.125
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", help="output folder")
    p.add_argument("--num-slides", type=int, default=24)
    p.add_argument("--size", type=int, nargs=2, default=(640, 896), metavar=("H", "W"),
                   help="level-0 slide size in pixels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tile-px", type=int, default=64)
    p.add_argument("--mpp", type=float, default=0.5)
    p.add_argument("--backbone", default="resnet18")
    p.add_argument("--out-index", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--tasks", nargs="+", default=None, metavar="STYLE",
                   help="continual tasks: one slide style per task (ihc, he, glands, nuclei, "
                        "strands); --num-slides is then per task")
    p.add_argument("--test-fraction", type=float, default=3 / 8,
                   help="continual tasks: share of each task's slides in the test split")
    p.add_argument("--val-fraction", type=float, default=0.0,
                   help="continual tasks: share of each task's slides in the val split "
                        "(taken from the training slides)")
    args = p.parse_args(argv)

    import warnings

    import torch
    from zoo.datasets.wsi.features import extract_folder, list_slides
    from zoo.datasets.wsi.synthetic import make_synthetic_cohort, make_synthetic_task_cohort
    from zoo.models.mil.encoder import TileEncoder

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = Path(args.out)
    slides = out / "slides"
    if (slides / "labels.csv").is_file():
        pass  # reuse the slides (resumable)
    elif args.tasks:
        make_synthetic_task_cohort(slides, tuple(args.tasks), args.num_slides, args.seed,
                                   tuple(args.size), test_fraction=args.test_fraction,
                                   val_fraction=args.val_fraction)
    else:
        make_synthetic_cohort(slides, args.num_slides, args.seed, tuple(args.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # random-init warning: intended for this demo
        encoder = TileEncoder(args.backbone, args.out_index)
    report = extract_folder(list_slides(slides), out / "features", encoder,
                            target_mpp=args.mpp, tile_px=args.tile_px)
    print(f"{out}: {len(report.done)} slides extracted, {len(report.skipped)} reused, "
          f"{report.tiles} tiles; failed: {report.failed or 'none'}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
