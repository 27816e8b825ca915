"""Test a trained checkpoint: metrics, optional prediction dump and confusion-matrix PNG.

Example:
``uv run tools/test.py configs/skeleton/stgcn_msr3d_xsub.py work_dirs/stgcn_msr3d_xsub/epoch_60.pth
--dump preds.npz --confusion confusion.png``
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import tempfile

from mmengine.config import DictAction
from mmengine.runner import Runner

from zoo.evaluation.classification import confusion_matrix
from zoo.evaluation.dump import load_predictions
from zoo.runner_utils import format_metrics, load_config


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Test a zoo model")
    parser.add_argument("config", help="config file path")
    parser.add_argument("checkpoint", help="checkpoint file (path, URL or zoo://NAME)")
    parser.add_argument("--work-dir", help="folder for logs")
    parser.add_argument("--dump", help="write scores, labels and ids to this .npz file")
    parser.add_argument("--confusion", help="write a confusion-matrix PNG here")
    parser.add_argument("--num-clips", type=int,
                        help="test clips per sample (overrides UniformSampleFrames)")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"],
                        default="none")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    return args


def _set_num_clips(pipeline: list, num_clips: int) -> None:
    for step in pipeline:
        if step.get("type") in ("UniformSampleFrames", "zoo.UniformSampleFrames"):
            step["num_clips"] = num_clips
            step["test_mode"] = True


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    if cfg.get("test_dataloader") is None:
        raise KeyError(f"{args.config}: no test_dataloader in the config")
    if not osp.isfile(args.checkpoint) and "://" not in args.checkpoint:
        raise FileNotFoundError(f"checkpoint {args.checkpoint} does not exist")
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.num_clips:
        _set_num_clips(cfg.test_dataloader.dataset.pipeline, args.num_clips)
    dump = args.dump
    if args.confusion and not dump:
        dump = osp.join(tempfile.mkdtemp(prefix="zoo_test_"), "predictions.npz")
    if dump:
        evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) \
            else [cfg.test_evaluator]
        cfg.test_evaluator = [*evaluators, dict(type="DumpPredictions", out_file=dump)]
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    if runner.rank == 0:
        print(f"Test: {format_metrics(metrics)}", flush=True)
        if args.confusion:
            from zoo.visualization import plot_confusion_matrix

            preds = load_predictions(dump)
            classes = list(preds["classes"]) or [str(i) for i in range(preds["scores"].shape[1])]
            matrix = confusion_matrix(preds["scores"], preds["labels"], len(classes))
            plot_confusion_matrix(matrix, classes, args.confusion)
            print(f"Confusion matrix written to {args.confusion}")
    return metrics


if __name__ == "__main__":
    main()
