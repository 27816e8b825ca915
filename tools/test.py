"""Test a trained checkpoint: metrics, optional prediction dump, confusion-matrix PNG and
detection PNGs (``--show-dir``).

Example:
``uv run tools/test.py configs/skeleton/stgcn_msr3d_xsub.py work_dirs/stgcn_msr3d_xsub/epoch_60.pth
--dump preds.npz --confusion confusion.png``; MIL configs:
``uv run tools/test.py configs/wsi/comel_synthetic.py CKPT --heatmap-dir work_dirs/heatmaps``
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import tempfile

from mmengine.config import DictAction
from mmengine.runner import Runner

from zoo.engine.checkpoint_keys import add_checkpoint_key_check
from zoo.engine.distributed import close_process_group
from zoo.evaluation.classification import confusion_matrix
from zoo.evaluation.dump import load_predictions
from zoo.pipelines import set_test_clips
from zoo.runner_utils import format_metrics, load_config
from zoo.work_dir import check_output_file


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Test a zoo model")
    parser.add_argument("config", help="config file path")
    parser.add_argument("checkpoint", help="checkpoint file (path, URL or zoo://NAME)")
    parser.add_argument("--work-dir", help="folder for logs")
    parser.add_argument("--dump", help="write scores, labels and ids to this .npz file")
    parser.add_argument("--confusion", help="write a confusion-matrix PNG here")
    parser.add_argument("--heatmap-dir",
                        help="write one heat-map PNG per slide into this folder (sets the "
                             "heatmap_dir of the test evaluator, e.g. MILMetric)")
    parser.add_argument("--num-clips", type=int,
                        help="test clips per sample (overrides UniformSampleFrames)")
    parser.add_argument("--show-dir",
                        help="write the config's result PNGs to this folder (the hook named by "
                             "the config's `show_hook`: detections and ModTr translations, "
                             "HealthiVert slices and height profiles)")
    parser.add_argument("--show-max", type=int, default=8, help="PNGs written by --show-dir")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast inference")
    parser.add_argument("--channels-last", action="store_true",
                        help="store convolution weights channels last (NHWC)")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"],
                        default="none")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    return args


def set_heatmap_dir(cfg, folder: str, source: str = "config") -> int:
    """Set ``heatmap_dir=folder`` on every test evaluator metric that accepts it (the
    equivalent of ``--cfg-options test_evaluator.heatmap_dir=DIR``); returns how many.

    Raises ``ValueError`` naming the config and its metric types when none accepts it.
    """
    import inspect

    from zoo.registry import METRICS

    evaluator = cfg.get("test_evaluator")
    if evaluator is None:
        raise ValueError(f"{source}: --heatmap-dir needs a test_evaluator; the config has none")
    if isinstance(evaluator, dict) and "metrics" in evaluator:  # dict(type='Evaluator', ...)
        evaluator = evaluator["metrics"]
    metrics = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
    types, count = [], 0
    for metric in metrics:
        name = metric.get("type") if isinstance(metric, dict) else type(metric).__name__
        types.append(str(name))
        cls = METRICS.get(name) if isinstance(name, str) else name
        if cls is None or not isinstance(metric, dict):
            continue
        if "heatmap_dir" in inspect.signature(cls.__init__).parameters:
            metric["heatmap_dir"] = folder
            count += 1
    if not count:
        raise ValueError(f"{source}: --heatmap-dir is not supported by the test evaluator "
                         f"{types} (no metric takes a heatmap_dir argument; MIL configs with "
                         "MILMetric do)")
    return count


def show_hook(cfg, folder: str, max_images: int, source: str = "config") -> dict:
    """The config's ``show_hook`` (a hook config that writes result PNGs) aimed at ``folder``.

    Raises ``ValueError`` naming the config when it declares none.
    """
    hook = cfg.get("show_hook")
    if not hook:
        raise ValueError(f"{source}: --show-dir needs a `show_hook` in the config (a hook that "
                         "writes result PNGs, e.g. dict(type='DetVisualizationHook') in the "
                         "ModTr configs); this config has none")
    return dict(hook, out_dir=folder, max_images=max_images)


def main(argv=None) -> dict:
    args = parse_args(argv)
    for option, path in (("--confusion", args.confusion), ("--dump", args.dump)):
        if path:  # fail before the test, not after it
            check_output_file(path, option)
    cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    if args.amp:
        from zoo.engine.amp import enable_amp

        enable_amp(cfg)
    if args.channels_last:
        from zoo.engine.memory_format import enable_channels_last

        enable_channels_last(cfg)
    if args.heatmap_dir:
        set_heatmap_dir(cfg, args.heatmap_dir, args.config)
    if cfg.get("test_dataloader") is None:
        raise KeyError(f"{args.config}: no test_dataloader in the config")
    if not osp.isfile(args.checkpoint) and "://" not in args.checkpoint:
        raise FileNotFoundError(f"checkpoint {args.checkpoint} does not exist")
    cfg.load_from = args.checkpoint
    cfg.resume = False
    # evaluation loads strictly: a checkpoint that does not fit is named, not half-loaded
    add_checkpoint_key_check(cfg, strict=True, source=args.checkpoint)
    if args.num_clips is not None:
        set_test_clips(cfg.test_dataloader.dataset.pipeline, args.num_clips,
                       f"{args.config}: --num-clips", required=True)
    dump = args.dump
    if args.confusion and not dump:
        dump = osp.join(tempfile.mkdtemp(prefix="zoo_test_"), "predictions.npz")
    if dump:
        evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) \
            else [cfg.test_evaluator]
        cfg.test_evaluator = [*evaluators, dict(type="DumpPredictions", out_file=dump)]
    if args.show_dir:
        cfg.custom_hooks = [*cfg.get("custom_hooks", []),
                            show_hook(cfg, args.show_dir, args.show_max, args.config)]
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
        if args.show_dir:
            print(f"Result PNGs written to {args.show_dir}")
    close_process_group()
    return metrics


if __name__ == "__main__":
    main()
