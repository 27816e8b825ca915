"""Make a trained model forget classes or samples, and report how well it forgot.

Examples::

    uv run tools/unlearn.py configs/image/smallcnn_digits.py \\
        --checkpoint work_dirs/smallcnn_digits/epoch_10.pth --forget-classes 3 \\
        --unlearner SSD --out work_dirs/unlearn_digits_ssd
    uv run tools/unlearn.py CONFIG --checkpoint CKPT --forget-ids ids.txt \\
        --unlearner NegGradPlus --unlearner-options projection=True --out DIR
    uv run tools/unlearn.py CONFIG --checkpoint CKPT --requests seq.json --unlearner GSLoRA \\
        --reference DIR_OF_RETRAIN/unlearned.pth --out DIR

Writes ``DIR/unlearned.pth`` (atomically; the input checkpoint is never written) and
``DIR/report.json``, and prints a table (original model, unlearned model, reference).
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys
import time

import torch
from mmengine.config import DictAction

from zoo.runner_utils import load_config


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Unlearn a forget request from a zoo model")
    parser.add_argument("config", help="config file the checkpoint was trained with")
    parser.add_argument("--checkpoint", required=True, help="trained checkpoint (.pth)")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--forget-classes", nargs="+", help="class indices or names to forget")
    group.add_argument("--forget-subclasses", nargs="+",
                       help="sub-classes (original classes of a SuperclassDataset) to forget")
    group.add_argument("--forget-ids", help="file of sample ids (one per line, or JSON list)")
    group.add_argument("--forget-random", type=float,
                       help="forget this random fraction of the training samples")
    group.add_argument("--requests", help="JSON list of requests applied one after another")
    parser.add_argument("--unlearner", required=True, help="UNLEARNERS name, e.g. SSD")
    parser.add_argument("--unlearner-options", nargs="+", action=DictAction, default={},
                        help="unlearner arguments, e.g. alpha=10 lam=1 projection=True")
    parser.add_argument("--reference", help="checkpoint of the retrained model (for the gap)")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--amp", action="store_true",
                        help="bf16 autocast for the forward passes (unlearning and evaluation)")
    parser.add_argument("--out", required=True, help="output folder")
    return parser.parse_args(argv)


def make_requests(args, ctx) -> list:
    from zoo.unlearning.requests import (
        ForgetRequest,
        random_request,
        read_id_file,
        read_request_file,
    )

    if args.forget_classes:
        return [ForgetRequest(classes=args.forget_classes)]
    if args.forget_subclasses:
        return [ForgetRequest(subclasses=args.forget_subclasses)]
    if args.forget_ids:
        return [ForgetRequest(ids=read_id_file(args.forget_ids),
                              name=f"ids of {osp.basename(args.forget_ids)}")]
    if args.forget_random is not None:
        return [random_request(ctx.index, args.forget_random, args.seed)]
    return read_request_file(args.requests)


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    from zoo.apis import init_model
    from zoo.engine.amp import bf16_forward
    from zoo.unlearning.api import run_unlearner, save_checkpoint, write_json
    from zoo.unlearning.context import build_context
    from zoo.unlearning.report import compare, evaluate, markdown_table, public

    out_ckpt = osp.abspath(osp.join(args.out, "unlearned.pth"))
    if osp.abspath(args.checkpoint) == out_ckpt:
        raise ValueError("--out would overwrite the input checkpoint; choose another folder")
    cfg = load_config(args.config, args.cfg_options, osp.join(args.out, "work_dir"))
    model = init_model(cfg, args.checkpoint)
    ctx = build_context(cfg, model, seed=args.seed)
    requests = make_requests(args, ctx)
    for r in requests:  # validate every request before any work
        ctx.index.resolve(r)
        ctx.apply_request(r)
    with bf16_forward(model, enabled=args.amp):
        original = evaluate(model, ctx)
    reference = None
    if args.reference:
        ref_model = init_model(cfg, args.reference)
        with bf16_forward(ref_model, enabled=args.amp):
            reference = evaluate(ref_model, ctx)
    unlearner_cfg = dict(type=args.unlearner, **args.unlearner_options)
    start = time.perf_counter()
    metrics, edited = run_unlearner(model, ctx, unlearner_cfg, requests, reference,
                                    amp=args.amp)
    report = dict(
        config=args.config, checkpoint=args.checkpoint, unlearner=unlearner_cfg, amp=args.amp,
        unlearner_state=metrics.pop("_config"), timing=metrics.pop("_timing"),
        requests=[r.describe() for r in requests],
        forget_samples=int(len(ctx.all_forget_idx)), retain_samples=int(len(ctx.retain_idx)),
        forget_classes=sorted(ctx.forget_classes), metrics=public(metrics),
        original=public(original), reference=public(reference) if reference else None,
        original_gap=public(compare(original, reference)) if reference else None,
        total_seconds=round(time.perf_counter() - start, 3), command=" ".join(sys.argv),
    )
    os.makedirs(args.out, exist_ok=True)
    save_checkpoint(edited, out_ckpt, dict(unlearning=dict(
        source=osp.abspath(args.checkpoint), unlearner=unlearner_cfg,
        requests=report["requests"], forget_classes=report["forget_classes"])))
    write_json(osp.join(args.out, "report.json"), report)
    rows = [dict(unlearner="original", **report["original"],
                 **(report["original_gap"] or {}))]
    if reference is not None:
        rows.append(dict(unlearner="reference", **report["reference"]))
    rows.append(dict(unlearner=args.unlearner, **report["metrics"]))
    print(markdown_table(rows))
    print(f"Unlearned checkpoint: {out_ckpt}\nReport: {osp.join(args.out, 'report.json')}")
    return report


if __name__ == "__main__":
    main()
