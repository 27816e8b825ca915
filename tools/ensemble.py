"""Fuse the saved test scores of several streams or models and report the fused top-1.

Example (4-stream ST-GCN on MSR Action3D, weights as in CTR-GCN / PYSKL)::

    uv run tools/ensemble.py j.npz b.npz jm.npz bm.npz --weights 2 2 1 1 [--out fused.json]

Each file is a ``tools/test.py CONFIG CKPT --dump FILE.npz`` output; samples are matched by id.
"""
from __future__ import annotations

import argparse
import json

from zoo.evaluation.fusion import fuse_predictions
from zoo.fileio import atomic_write_bytes


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="Late fusion of saved test scores")
    parser.add_argument("scores", nargs="+", help=".npz files written by tools/test.py --dump")
    parser.add_argument("--weights", nargs="+", type=float, help="one weight per file")
    parser.add_argument("--softmax", action="store_true",
                        help="the files hold logits: apply softmax before fusing")
    parser.add_argument("--out", help="write the result as JSON here")
    args = parser.parse_args(argv)
    try:
        result = fuse_predictions(args.scores, args.weights, args.softmax)
    except (OSError, ValueError) as exc:  # a named file that is not a --dump output, ...
        parser.error(str(exc))
    print(result.table())
    summary = {"files": result.names, "weights": result.weights, "top1": result.top1,
               "fused_top1": result.fused_top1, "num_samples": result.num_samples}
    if args.out:
        atomic_write_bytes(args.out, json.dumps(summary, indent=2).encode())
    return summary


if __name__ == "__main__":
    main()
