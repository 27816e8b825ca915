"""Shared set-up of ``tools/train.py`` and ``tools/test.py``: config loading and checks."""
from __future__ import annotations

import os.path as osp
from typing import Sequence

from mmengine.config import Config

from zoo.checkpoint import allow_mmengine_checkpoints
from zoo.config_check import check_config, read_config
from zoo.config_overrides import apply_cfg_options
from zoo.fileio import remove_orphaned_temporaries


def load_config(path: str, cfg_options: dict | None = None, work_dir: str | None = None,
                launcher: str = "none") -> Config:
    """Read a config file, apply ``--cfg-options``, set the work dir, and check it."""
    import zoo.hub.scheme  # noqa: F401  (load_from = 'zoo://NAME')
    from zoo.engine.atomic_io import install_atomic_backend
    from zoo.engine.config_format import install_config_format_cache

    install_atomic_backend()
    install_config_format_cache()
    allow_mmengine_checkpoints()
    if not osp.isfile(path):
        raise FileNotFoundError(f"config file {path} does not exist")
    cfg = read_config(path)  # names the file of a syntax error
    apply_cfg_options(cfg, cfg_options, path)  # also reaches keys copied from data_root etc.
    cfg.launcher = launcher
    if launcher != "none":
        from zoo.engine.distributed import init_cpu_process_group

        init_cpu_process_group(launcher, cfg.get("env_cfg", {}).get("dist_cfg", {})
                               .get("backend", "gloo"))
    if launcher != "none" and cfg.get("model_wrapper_cfg") is None:
        # mmengine's default DDP set-up fails for CPU models (zoo/engine/distributed.py); the
        # runner looks wrappers up in its root registry, so the scope is written out.
        cfg.model_wrapper_cfg = dict(type="zoo.ZooDistributedDataParallel",
                                     sync_bn=cfg.get("sync_bn_cpu", True))
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get("work_dir") is None:
        cfg.work_dir = osp.join("./work_dirs", osp.splitext(osp.basename(path))[0])
    check_config(cfg)
    remove_orphaned_temporaries(cfg.work_dir)  # left by a run killed while writing
    return cfg


def format_metrics(metrics: dict, keys: Sequence[str] | None = None) -> str:
    keys = keys or sorted(metrics)
    return "  ".join(f"{k}: {metrics[k]:.2f}" if isinstance(metrics[k], float)
                     else f"{k}: {metrics[k]}" for k in keys if k in metrics)
