"""Parameters and FLOPs of the model a config builds (zoo.analysis.complexity).

    uv run tools/analysis/complexity.py configs/skeleton/ctrgcn_ntu60_xsub_joint.py
    uv run tools/analysis/complexity.py CONFIG --shape 1 2 100 25 3 [--json]

Skeleton configs use their ``[1, M, T, V, C]`` input spec; others one sample of their data set
or ``--shape``. FLOPs: ``torch.utils.flop_counter`` (a multiply-add = 2 FLOPs).
"""
from __future__ import annotations

import argparse
import json
import sys

from mmengine.config import Config, DictAction

from zoo.analysis.complexity import config_complexity


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("config")
    parser.add_argument("--shape", type=int, nargs="+", help="input tensor shape")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    result = config_complexity(cfg, args.shape)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"config: {args.config}\ninput:  {result['input']}\n"
              f"params: {result['params']:,} ({result['params'] / 1e6:.2f} M)\n"
              f"FLOPs:  {result['gflops']:.3f} G (multiply-add = 2 FLOPs)")
    return result


if __name__ == "__main__":
    try:
        main()
    except (KeyError, ValueError, FileNotFoundError) as exc:
        print(f"complexity: error: {exc}", file=sys.stderr)
        sys.exit(2)
