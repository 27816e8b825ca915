"""Load victims and data from configs, run attacks in batches and report robustness numbers
(shared by ``tools/attack.py`` and ``benchmarks/attack_table.py``)."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

from zoo.attacks.metrics import perturbation_stats, success_rate


def config_layout(cfg) -> str:
    """The skeleton layout of a config (top-level ``layout`` or the backbone's graph)."""
    if cfg.get("layout"):
        return cfg.layout
    graph = cfg.model.get("backbone", {}).get("graph_cfg", {})
    if graph.get("layout"):
        return graph["layout"]
    raise KeyError(f"{cfg.filename}: no 'layout' key and no model.backbone.graph_cfg.layout")


def load_model(config: str, checkpoint: str) -> tuple[nn.Module, object]:
    """Build ``config``'s model and load the weights of an mmengine ``checkpoint`` (keys
    checked strictly, :func:`zoo.apis.init_model`); returns ``(model, checked config)``."""
    from zoo.apis import init_model
    from zoo.runner_utils import load_config

    cfg = load_config(config)
    return init_model(cfg, checkpoint), cfg


def load_split(cfg, split: str = "test", num_clips: int = 1, num_samples: int | None = None,
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Joint inputs ``[N, clips, M, T, V, C]`` and labels of a config's test data (``split``
    replaces the dataset's split), with the test pipeline and ``num_clips`` clips; with
    ``num_samples`` an evenly spaced subset (every class of an ordered split is covered)."""
    import copy

    from zoo.apis.model import set_default_scope
    from zoo.pipelines import set_test_clips
    from zoo.registry import DATASETS

    set_default_scope(cfg)
    ds_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    ds_cfg["split"] = split
    set_test_clips(ds_cfg.pipeline, num_clips, getattr(cfg, "filename", None) or "config")
    dataset = DATASETS.build(ds_cfg)
    index = np.arange(len(dataset))
    if num_samples is not None and num_samples < len(dataset):
        index = np.linspace(0, len(dataset) - 1, num_samples).round().astype(int)
    items = [dataset[int(i)] for i in index]
    x = torch.stack([it["inputs"] for it in items]).float()
    y = torch.cat([it["data_samples"].gt_label for it in items]).long()
    return x, y


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
    """Predicted classes of ``x`` (``model.logits``, batched)."""
    from zoo.attacks.gradient import model_logits

    return torch.cat([model_logits(model, b).argmax(-1) for b in x.split(batch_size)])


def craft(attack: Callable, model: nn.Module | None, x: torch.Tensor, y: torch.Tensor,
          batch_size: int = 16, progress: bool = True) -> torch.Tensor:
    """Adversarial examples of the whole set, ``batch_size`` samples at a time."""
    from tqdm import tqdm

    out = []
    batches = list(zip(x.split(batch_size), y.split(batch_size)))
    for xb, yb in tqdm(batches, desc=getattr(attack, "name", "attack"), disable=not progress):
        out.append(attack(model, xb, yb))
    return torch.cat(out)


def report(victim: nn.Module, x: torch.Tensor, x_adv: torch.Tensor, y: torch.Tensor,
           layout: str | None, clean_pred: torch.Tensor | None = None) -> dict:
    """Clean / adversarial accuracy (%), success rate (%) and perturbation statistics."""
    clean_pred = predict(victim, x) if clean_pred is None else clean_pred
    adv_pred = predict(victim, x_adv)
    out = dict(num_samples=len(y),
               clean_acc=100 * float((clean_pred == y).float().mean()),
               adv_acc=100 * float((adv_pred == y).float().mean()),
               success_rate=100 * success_rate(clean_pred, adv_pred, y))
    out.update(perturbation_stats(x, x_adv, layout))
    return out
