"""Train a model from a config file (mmengine runner), then test it on the test split.

Example: ``uv run tools/train.py configs/skeleton/stgcn_synthetic.py``
"""
from __future__ import annotations

import argparse
import os

from mmengine.config import DictAction
from mmengine.runner import Runner

from zoo.engine.checkpoint_keys import add_checkpoint_key_check
from zoo.engine.distributed import close_process_group
from zoo.engine.inference_meta import add_inference_meta_hook
from zoo.engine.runner_setup import finish_runner_setup
from zoo.engine.tracking import apply_vis
from zoo.runner_utils import format_metrics, load_config
from zoo.work_dir import guard_work_dir


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train a zoo model")
    parser.add_argument("config", help="config file path")
    parser.add_argument("--work-dir", help="folder for logs and checkpoints")
    parser.add_argument("--resume", nargs="?", type=str, const="auto",
                        help="resume from the given checkpoint, or the latest one in the "
                             "work dir when no path is given")
    parser.add_argument("--move-old-run", action="store_true",
                        help="the work dir holds another run: move it aside to "
                             "WORK_DIR_old_<time> and start afresh (else training refuses)")
    parser.add_argument("--no-test", action="store_true",
                        help="skip the final evaluation on the test split")
    parser.add_argument("--amp", action="store_true",
                        help="bf16 mixed precision (autocast) for training and evaluation")
    parser.add_argument("--channels-last", action="store_true",
                        help="convolution weights channels last (NHWC): faster CPU "
                             "convolutions on small maps, same values to rounding")
    parser.add_argument("--pointwise-gemm", action="store_true",
                        help="1x1 convolutions as batched matrix products: faster CPU bf16 "
                             "training of the skeleton GCNs, same values to rounding")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction,
                        help="override config keys, e.g. train_cfg.max_epochs=2")
    parser.add_argument("--vis", nargs="+", default=[], metavar="BACKEND",
                        help="also log to tensorboard / mlflow / wandb (zoo.engine.tracking)")
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"],
                        default="none", help="job launcher for distributed training")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = apply_vis(load_config(args.config, args.cfg_options, args.work_dir, args.launcher),
                    args.vis)
    if args.amp:
        from zoo.engine.amp import enable_amp

        enable_amp(cfg)
    if args.channels_last:
        from zoo.engine.memory_format import enable_channels_last

        enable_channels_last(cfg)
    if args.pointwise_gemm:
        from zoo.engine.pointwise_gemm import enable_pointwise_gemm

        enable_pointwise_gemm(cfg)
    add_inference_meta_hook(cfg)  # classes, layout, test pipeline into each checkpoint's meta
    if args.resume == "auto":
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    elif cfg.get("load_from"):  # fine-tuning: the run's log names what does not fit
        add_checkpoint_key_check(cfg, strict=False, source=cfg.load_from)
    moved = guard_work_dir(cfg.work_dir, bool(cfg.get("resume")), args.move_old_run)
    runner = Runner.from_cfg(cfg)
    finish_runner_setup(runner)
    if moved is not None:
        runner.logger.info(f"The previous run in {cfg.work_dir} was moved to {moved}")
    runner.train()
    metrics: dict = {}
    if not args.no_test and cfg.get("test_dataloader") is not None:
        metrics = runner.test()
        runner.logger.info(f"Final test metrics: {format_metrics(metrics)}")
        if runner.rank == 0:
            print(f"Final test: {format_metrics(metrics)}", flush=True)
    close_process_group()
    return metrics


if __name__ == "__main__":
    main()
