"""Retrain from scratch on the retain set: the reference every unlearner is compared with."""
from __future__ import annotations

import copy
import os.path as osp
import tempfile
import time

from torch import nn
from torch.utils.data import Subset

from zoo.registry import UNLEARNERS
from zoo.unlearning.base import BaseUnlearner


def _plain(value):
    return value.to_dict() if hasattr(value, "to_dict") else copy.deepcopy(value)


@UNLEARNERS.register_module()
class Retrain(BaseUnlearner):
    """Exact unlearning by retraining: a fresh model of the config trained with the config's
    own recipe (optimiser, schedule, epochs, hooks, seed) on the retain set only, through
    mmengine's ``Runner``; the result replaces the weights of the given model. This is the
    "gold standard" reference of the unlearning literature (e.g. Golatkar et al., CVPR 2020;
    Kurmanji et al., NeurIPS 2023).

    Args:
        max_epochs: override the config's epoch count (``None``: keep it).
        work_dir: folder of the runner's logs (default: a temporary folder).
    """

    def __init__(self, max_epochs: int | None = None, work_dir: str | None = None):
        self.max_epochs, self.work_dir = max_epochs, work_dir
        self.train_seconds = 0.0

    def unlearn(self, model: nn.Module, ctx) -> nn.Module:
        from mmengine.runner import Runner

        from zoo.engine.atomic_io import install_atomic_backend

        install_atomic_backend()

        cfg = ctx.cfg
        if cfg is None:
            raise ValueError("Retrain needs the config (UnlearnContext.cfg)")
        loader = _plain(cfg.train_dataloader)
        loader["dataset"] = Subset(ctx.train_set, ctx.retain_idx.tolist())
        train_cfg = _plain(cfg.train_cfg)
        train_cfg.pop("val_interval", None)
        train_cfg.pop("val_begin", None)
        if self.max_epochs is not None:
            train_cfg["max_epochs"] = self.max_epochs
        hooks = _plain(cfg.get("default_hooks", {}))
        hooks["checkpoint"] = dict(type="CheckpointHook", interval=-1, save_last=False)
        schedulers = _plain(cfg.get("param_scheduler")) if cfg.get("param_scheduler") else None
        if schedulers and self.max_epochs is not None:
            schedulers = _fit_schedulers(schedulers, self.max_epochs)
        work_dir = self.work_dir or tempfile.mkdtemp(prefix="zoo_retrain_")
        runner = Runner(
            model=_plain(cfg.model), work_dir=osp.abspath(work_dir), train_dataloader=loader,
            train_cfg=train_cfg, optim_wrapper=_plain(cfg.optim_wrapper),
            param_scheduler=schedulers, default_hooks=hooks,
            custom_hooks=_plain(cfg.get("custom_hooks", [])),
            randomness=_plain(cfg.get("randomness", dict(seed=0))),
            env_cfg=_plain(cfg.get("env_cfg", dict(dist_cfg=dict(backend="gloo")))),
            log_processor=_plain(cfg.get("log_processor", {})), default_scope="zoo",
            experiment_name=f"retrain_{time.strftime('%Y%m%d_%H%M%S')}_{id(self)}",
        )
        start = time.perf_counter()
        runner.train()
        self.train_seconds = time.perf_counter() - start
        model.load_state_dict(runner.model.state_dict())
        model.eval()
        return model


def _fit_schedulers(schedulers, max_epochs: int):
    """Clip epoch-based scheduler ends to a shorter run (cosine ``T_max`` shrinks with it)."""
    out = []
    for s in (schedulers if isinstance(schedulers, list) else [schedulers]):
        s = dict(s)
        if s.get("begin", 0) >= max_epochs:
            continue
        if "end" in s and s["end"] > max_epochs:
            s["end"] = max_epochs
            if "T_max" in s:
                s["T_max"] = max(1, max_epochs - s.get("begin", 0))
        out.append(s)
    return out
