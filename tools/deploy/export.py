"""Export a trained model to ONNX and check it with onnxruntime.

Example: ``uv run tools/deploy/export.py configs/skeleton/stgcn_msr3d_xsub.py CKPT
--format onnx --out stgcn.onnx``. The input shape is taken from the first sample of the
config's test set unless ``--input-shape`` gives it (e.g. ``1 10 1 32 20 3`` for
``[N, clips, M, T, V, C]``). ``--int8`` also writes ``stgcn.int8.onnx``: weights int8 per
channel, activations calibrated on training samples, refused when its arg-max agrees with the
fp32 file on fewer than 99.5 % of them (onnxruntime's integer kernels; docs/speed.md).
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
    parser.add_argument("--int8", action="store_true",
                        help="also write an int8 copy (<out>.int8.onnx) for onnxruntime")
    parser.add_argument("--calib-samples", type=int, default=64,
                        help="training samples that calibrate the int8 ranges (default 64)")
    parser.add_argument("--int8-fp32-nodes", nargs="+", default=(), metavar="REGEX",
                        help="ONNX nodes to keep fp32 in the int8 file (regular expressions "
                             "on node names, e.g. '/backbone/layers\\.0/'; "
                             "benchmarks/int8_sensitivity.py finds the sensitive blocks)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    result = export_from_config(args.config, args.checkpoint, args.out, args.input_shape,
                                fuse=not args.no_fuse, opset=args.opset, int8=args.int8,
                                calib_samples=args.calib_samples,
                                int8_fp32_nodes=args.int8_fp32_nodes)
    report, quant = result if args.int8 else (result, None)
    print(f"Wrote {report.path}: {report.fused_pairs} BatchNorms folded; onnxruntime vs "
          f"PyTorch logits max |diff| {report.max_abs_diff:.3g} (logit scale "
          f"{report.logit_scale:.3g})", flush=True)
    if quant is not None:
        print(f"Wrote {quant.path}: {quant.quantized_nodes} tensors quantised; arg-max agrees "
              f"with fp32 on {100 * quant.argmax_agreement:.1f} % of the calibration samples, "
              f"logits max |diff| {quant.max_abs_diff:.3g}", flush=True)
    return result


if __name__ == "__main__":
    main()
