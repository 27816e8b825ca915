"""Top-1 of every Ensem-NN sub-network and of their late fusion on a config's test split.

Example::

    OMP_NUM_THREADS=1 uv run tools/cnn1d_subnets.py configs/skeleton/cnn1d_ensemble_msr3d_xsub.py \
        /tmp/runs/cnn1d_msr/epoch_40.pth
"""
from __future__ import annotations

import argparse

import torch
from mmengine.runner import Runner
from tqdm import tqdm

from zoo.apis import init_model
from zoo.runner_utils import load_config


def subnet_top1(config: str, checkpoint: str) -> dict[str, float]:
    """Top-1 (%) per sub-network and for the fusion, with the config's test pipeline."""
    cfg = load_config(config)
    model = init_model(cfg, checkpoint)
    if not hasattr(model, "subnet_scores"):
        raise TypeError(f"{config}: the model ({type(model).__name__}) has no subnet_scores; "
                        f"use EnsembleCNN1DRecognizer")
    loader = Runner.build_dataloader(cfg.test_dataloader)
    correct: dict[str, int] = {}
    total = 0
    with torch.no_grad():
        for batch in tqdm(loader, desc="test batches"):
            data = model.data_preprocessor(batch, False)
            labels = torch.cat([s.gt_label for s in data["data_samples"]])
            for name, probs in model.subnet_scores(data["inputs"]).items():
                correct[name] = correct.get(name, 0) + int((probs.argmax(-1) == labels).sum())
            total += len(labels)
    return {name: 100.0 * c / total for name, c in correct.items()}


def main(argv=None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    result = subnet_top1(args.config, args.checkpoint)
    print("Top-1 (%): " + ", ".join(f"{k}: {v:.2f}" for k, v in result.items()), flush=True)
    return result


if __name__ == "__main__":
    main()
