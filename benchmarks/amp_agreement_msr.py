"""bf16 and int8 (onnxruntime) vs fp32 arg-max agreement of a trained MSR Action3D recogniser.

Loads a checkpoint trained in fp32 (``tools/train.py CONFIG``), runs the config's test
pipeline (10 clips per sequence) on the whole cross-subject test split once in fp32 and once
under :func:`zoo.engine.amp.bf16_autocast` (the ``--amp`` inference path: raw-coordinate
layers and the head in fp32), and reports top-1 accuracy of both, the share of samples whose
arg-max agrees, and the largest class-probability difference. Issue 21's target: >= 99.5 %.
The same for the model as ``zoo.deploy.fuse_for_inference`` rewrites it (BatchNorm and module
folds, 1x1 convolutions as matrix products), in fp32, under the ``--amp`` autocast and under
plain bf16 autocast (the "fused + bf16" mode of ``benchmarks/skeleton_speed_modes.py``).
It also exports the model to ONNX (BatchNorm folded) and runs it in onnxruntime, in fp32 and
as the int8 file of ``tools/deploy/export.py --int8`` (calibrated on ``--calib-samples``
training sequences; ``--no-onnx`` skips both): those rows compare the exported logits (averaged
over the clips) with PyTorch's fp32 logits.

Run: ``OMP_NUM_THREADS=1 uv run python benchmarks/amp_agreement_msr.py CONFIG CKPT``.
Writes ``benchmarks/results/amp_agreement_msr.{json,md}`` (``--name`` changes the file name).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from zoo.fileio import atomic_write_text

REPO = Path(__file__).resolve().parents[1]


def read_split(dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """Every sample's input (``[N, clips, ...]``) and label, read once through the pipeline."""
    items = [dataset[i] for i in range(len(dataset))]
    return (torch.stack([torch.as_tensor(it["inputs"]) for it in items]).float(),
            torch.cat([it["data_samples"].gt_label for it in items]))


@torch.no_grad()
def scores(model, inputs: torch.Tensor, batch_size: int, amp: bool,
           keep_fp32: bool = True) -> torch.Tensor:
    """Class probabilities (averaged over the clips) in fp32 or under bf16 autocast."""
    from zoo.engine.amp import bf16_autocast

    probs = []
    for x in inputs.split(batch_size):
        with bf16_autocast(model, enabled=amp, keep_fp32=keep_fp32):
            probs.append(model.predict_scores(x).float())
    return torch.cat(probs)


def agreement_row(probs: torch.Tensor, reference: torch.Tensor, labels: torch.Tensor) -> dict:
    """Top-1 of ``probs``, its arg-max agreement with ``reference`` and the largest class
    probability difference (both ``[N, classes]`` probabilities)."""
    agree = probs.argmax(1) == reference.argmax(1)
    return dict(top1=100.0 * float((probs.argmax(1) == labels).double().mean()),
                agreement=100.0 * float(agree.double().mean()), disagreeing=int((~agree).sum()),
                max_prob_diff=float((probs - reference).abs().max()))


def onnx_rows(model, config: str, inputs: torch.Tensor, labels: torch.Tensor,
              calib_samples: int, op_types: list[str] | None = None) -> dict:
    """Top-1 and agreement with PyTorch's fp32 logits of the onnxruntime fp32 and int8 files."""
    import tempfile

    import numpy as np

    from zoo.deploy.export_tool import calibration_from_train_set
    from zoo.deploy.onnx_export import export_onnx, onnxruntime_logits
    from zoo.deploy.quantize import INT8_OPS, quantize_onnx_int8

    with torch.no_grad():
        ref = model(inputs).float()
    rows = {}
    with tempfile.TemporaryDirectory(prefix="zoo_msr_onnx_") as tmp:
        fp32_path, int8_path = Path(tmp) / "model.onnx", Path(tmp) / "model.int8.onnx"
        export_onnx(model, inputs[:1], fp32_path)
        calibration = calibration_from_train_set(model.cfg, config, calib_samples)
        report = quantize_onnx_int8(fp32_path, int8_path, calibration, min_agreement=0.0,
                                    op_types=INT8_OPS if op_types is None else op_types)
        for name, path in (("onnxruntime fp32 (BatchNorm folded)", fp32_path),
                           (f"onnxruntime int8 (calibrated on {len(calibration)} training "
                            f"sequences, {report.quantized_nodes} tensors quantised)",
                            int8_path)):
            got = torch.from_numpy(np.asarray(onnxruntime_logits(path, inputs.numpy())))
            rows[name] = agreement_row(got.softmax(1), ref.softmax(1), labels)
    return rows


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--out", default=str(REPO / "benchmarks/results"))
    parser.add_argument("--name", default="amp_agreement_msr", help="results file name")
    parser.add_argument("--no-onnx", dest="onnx", action="store_false")
    parser.add_argument("--calib-samples", type=int, default=64)
    parser.add_argument("--int8-ops", nargs="*", default=None, metavar="OP",
                        help="ONNX operator types to quantise (default: the zoo's INT8_OPS; "
                             "none given: every type onnxruntime can quantise)")
    parser.add_argument("--kernels-off-row", action="store_true",
                        help="add a row for fp32 with the zoo's compiled kernels off "
                             "(zoo.ops.small_head_attention.disabled: PyTorch's attention)")
    parser.add_argument("--train-command", default="",
                        help="the command that trained the checkpoint (for the results file)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from mmengine.registry import init_default_scope

    from zoo.apis import init_model
    from zoo.deploy import fuse_for_inference
    from zoo.registry import DATASETS

    init_default_scope("zoo")
    model = init_model(args.config, args.checkpoint).eval()
    dataset = DATASETS.build(model.cfg.test_dataloader.dataset)
    inputs, labels = read_split(dataset)
    fp32 = scores(model, inputs, args.batch_size, amp=False)
    rows = {}
    if args.kernels_off_row:
        from zoo.ops.small_head_attention import disabled

        with disabled():
            rows["fp32, compiled kernels off (PyTorch's attention)"] = agreement_row(
                scores(model, inputs, args.batch_size, amp=False), fp32, labels)
    for name, keep in (("bf16 (zoo --amp: fp32 input layers and head)", True),
                       ("plain bf16 autocast", False)):
        bf16 = scores(model, inputs, args.batch_size, amp=True, keep_fp32=keep)
        rows[name] = agreement_row(bf16, fp32, labels)
    fused = fuse_for_inference(model, inputs[:2])
    for name, amp, keep in (("fused (fuse_for_inference) fp32", False, False),
                            ("fused + bf16 (zoo --amp)", True, True),
                            ("fused + plain bf16 autocast (the speed table's mode)", True,
                             False)):
        rows[name] = agreement_row(scores(fused, inputs, args.batch_size, amp=amp,
                                          keep_fp32=keep), fp32, labels)
    if args.onnx:
        rows.update(onnx_rows(model, args.config, inputs, labels, args.calib_samples,
                              args.int8_ops))
    top2 = fp32.topk(2, dim=1).values
    results = dict(
        command=f"OMP_NUM_THREADS=1 uv run python benchmarks/amp_agreement_msr.py "
                f"{args.config} {args.checkpoint} --calib-samples {args.calib_samples} "
                f"--name {args.name}"
                + ("" if args.int8_ops is None else " --int8-ops " + " ".join(args.int8_ops))
                + ("" if args.onnx else " --no-onnx")
                + (" --kernels-off-row" if args.kernels_off_row else "")
                + " --train-command '...'",
        train_command=args.train_command, samples=len(labels),
        fp32_top1=100.0 * float((fp32.argmax(1) == labels).double().mean()),
        median_fp32_margin=float((top2[:, 0] - top2[:, 1]).median()), rows=rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / f"{args.name}.json", json.dumps(results, indent=2))
    lines = [f"# bf16 and int8 vs fp32 arg-max agreement, trained "
             f"{model.cfg.model.backbone.type} on MSR Action3D (cross-subject)",
             "", f"Checkpoint trained with: `{args.train_command}`", "",
             f"Measured with: `{results['command']}`", "",
             f"{results['samples']} test sequences, 10 clips each (probabilities averaged); "
             f"fp32 top-1 {results['fp32_top1']:.2f} %, median top-1 / top-2 probability "
             f"margin {results['median_fp32_margin']:.3f}.", "",
             "onnxruntime rows: the exported graph averages logits over the clips; agreement and "
             "probability difference against PyTorch's fp32 logits averaged the same way.", "",
             "| inference | top-1 (%) | arg-max agreement with fp32 (%) | samples that differ "
             "| max probability difference |", "|---|---:|---:|---:|---:|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['top1']:.2f} | {r['agreement']:.2f} | {r['disagreeing']} "
                     f"| {r['max_prob_diff']:.4f} |")
    atomic_write_text(out / f"{args.name}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return results


if __name__ == "__main__":
    main()
