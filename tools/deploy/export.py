"""Export a trained model to ONNX and check it with onnxruntime.

Example: ``uv run tools/deploy/export.py configs/skeleton/stgcn_msr3d_xsub.py CKPT
--format onnx --out stgcn.onnx``. The input shape is taken from the first sample of the
config's test set unless ``--input-shape`` gives it (e.g. ``1 10 1 32 20 3`` for
``[N, clips, M, T, V, C]``).
"""
from __future__ import annotations

import argparse

from zoo.deploy.export_tool import export_from_config


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Export a zoo model")
    parser.add_argument("config", help="config file path")
    parser.add_argument("checkpoint", help="checkpoint file (.pth or .safetensors)")
    parser.add_argument("--format", choices=["onnx"], default="onnx")
    parser.add_argument("--out", help="output file (default: the checkpoint's name, .onnx)")
    parser.add_argument("--input-shape", type=int, nargs="+",
                        help="example input shape (default: from the test set's first sample)")
    parser.add_argument("--no-fuse", action="store_true",
                        help="keep the BatchNorm layers (default: fold them into the convs)")
    parser.add_argument("--opset", type=int, default=17)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    report = export_from_config(args.config, args.checkpoint, args.out, args.input_shape,
                                fuse=not args.no_fuse, opset=args.opset)
    print(f"Wrote {report.path}: {report.fused_pairs} BatchNorms folded; onnxruntime vs "
          f"PyTorch logits max |diff| {report.max_abs_diff:.3g} (logit scale "
          f"{report.logit_scale:.3g})", flush=True)
    return report


if __name__ == "__main__":
    main()
