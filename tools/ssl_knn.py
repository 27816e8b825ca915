"""k-NN accuracy of a (pre-trained) skeleton encoder: the train split's embeddings vote for
the test split's labels (weighted k-NN of Wu et al. 2018).

Example: ``uv run tools/ssl_knn.py configs/selfsup/stgcn_msr3d_linear.py
work_dirs/hiclr_stgcn_msr3d_pretrain/epoch_100.pth`` (no checkpoint: a random encoder).
Both splits go through the config's test pipeline.
"""
from __future__ import annotations

import argparse

from mmengine.config import DictAction
from mmengine.runner import Runner

from zoo.evaluation.knn import knn_accuracy
from zoo.runner_utils import load_config


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="k-NN evaluation of a skeleton encoder")
    parser.add_argument("config", help="a recogniser config (its backbone is the encoder)")
    parser.add_argument("checkpoint", nargs="?", default=None,
                        help="pre-trained checkpoint (backbone.* keys); none: random encoder")
    parser.add_argument("--k", type=int, default=20, help="neighbours (default 20)")
    parser.add_argument("--temperature", type=float, default=0.1)
    parser.add_argument("--work-dir", help="folder for the runner's log")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    return parser.parse_args(argv)


def main(argv=None) -> float:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, args.work_dir)
    cfg.train_dataloader.dataset.pipeline = cfg.test_dataloader.dataset.pipeline
    cfg.train_dataloader.sampler = dict(type="DefaultSampler", shuffle=False)
    cfg.load_from, cfg.resume = args.checkpoint, False
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    num_classes = runner.model.num_classes
    acc = knn_accuracy(runner.model, runner.train_dataloader, runner.test_dataloader,
                       num_classes, args.k, args.temperature)
    print(f"k-NN (k={args.k}) top-1: {acc:.2f}", flush=True)
    return acc


if __name__ == "__main__":
    main()
