"""Build a model from its config and load a checkpoint into it, checking every key.

``init_model`` is what ``init_detector`` / ``init_recognizer`` are in MMDetection /
MMAction2 (``mmdet/apis/inference.py``): config -> registry build in the zoo scope -> safe
checkpoint load -> eval mode. Every tool that needs a trained model goes through it, so a
checkpoint that does not fit the config is refused the same way everywhere.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path

import torch
from mmengine.config import Config
from torch import nn

from zoo.checkpoint import KeyReport, load_state_dict_checked, safe_torch_load
from zoo.config_check import read_config

ConfigLike = str | os.PathLike | Config


def load_config_file(config: ConfigLike, cfg_options: dict | None = None) -> Config:
    """``config`` as an mmengine ``Config`` (a copy when one is given), with overrides.

    A missing file or a file that does not parse is named in the error.
    """
    from zoo.config_overrides import apply_cfg_options

    cfg = copy.deepcopy(config) if isinstance(config, Config) else read_config(config)
    # Top-level knobs (data_root, clip_len, ...) also reach the keys that copied them.
    apply_cfg_options(cfg, cfg_options, "config" if isinstance(config, Config) else str(config))
    return cfg


def set_default_scope(cfg: Config | None = None) -> None:
    """Make ``cfg.default_scope`` (``'zoo'`` when unset) the current mmengine scope."""
    from mmengine.registry import init_default_scope

    init_default_scope((cfg.get("default_scope") if cfg is not None else None) or "zoo")


def _read_checkpoint(checkpoint: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict]:
    """``(state_dict, checkpoint dict)`` of a path, ``zoo://NAME`` or URL, read safely."""
    from zoo.hub.loading import extract_state_dict, load_state_dict_file

    source = os.fspath(checkpoint)
    if "://" in source:
        from zoo.hub.api import ZOO_SCHEME, load_pretrained

        state = load_pretrained(source)
        meta = {"zoo_entry": source[len(ZOO_SCHEME):]} if source.startswith(ZOO_SCHEME) else {}
        return state, {"state_dict": state, "meta": meta}
    path = Path(source)
    if path.suffix == ".safetensors":
        state = load_state_dict_file(path)
        return state, {"state_dict": state}
    raw = safe_torch_load(path)
    state = extract_state_dict(raw, source=str(path))
    return state, raw if isinstance(raw, dict) else {"state_dict": state}


def load_checkpoint(model: nn.Module, checkpoint: str | os.PathLike, *, strict: bool = True,
                    head_prefix: str | None = None) -> tuple[dict, KeyReport]:
    """Load ``checkpoint`` (path, ``zoo://NAME`` or URL) into ``model``.

    Returns the checkpoint dict (``state_dict`` and, for mmengine files, ``meta``) and the
    :class:`~zoo.checkpoint.KeyReport`. ``strict`` and ``head_prefix`` as in
    :func:`zoo.checkpoint.load_state_dict_checked`.
    """
    state, raw = _read_checkpoint(checkpoint)
    report = load_state_dict_checked(model, state, source=os.fspath(checkpoint), strict=strict,
                                     head_prefix=head_prefix)
    return raw, report


def init_model(config: ConfigLike, checkpoint: str | os.PathLike | None = None,
               device: str | torch.device = "cpu", strict: bool = True,
               cfg_options: dict | None = None) -> nn.Module:
    """Build the model of ``config`` and load ``checkpoint`` into it, in eval mode.

    Args:
        config: config file path or mmengine ``Config``.
        checkpoint: path, ``zoo://NAME`` or URL; ``None`` keeps the initial weights.
        device: where the model goes.
        strict: missing or unexpected keys are an error naming them (mis-shaped keys always
            are); without, they are logged.
        cfg_options: ``Config.merge_from_dict`` overrides.

    The model carries the config as ``model.cfg`` and, when the checkpoint has them, its
    ``meta`` as ``model.checkpoint_meta`` and ``meta['dataset_meta']`` as
    ``model.dataset_meta`` (mmengine's convention).
    """
    from zoo.registry import MODELS

    cfg = load_config_file(config, cfg_options)
    if "model" not in cfg:
        raise KeyError(f"{getattr(cfg, 'filename', None) or 'config'}: the config defines no "
                       "`model`")
    set_default_scope(cfg)
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.cfg = cfg
    if checkpoint is not None:
        raw, _ = load_checkpoint(model, checkpoint, strict=strict)
        meta = raw.get("meta") if isinstance(raw.get("meta"), dict) else {}
        model.checkpoint_meta = meta
        if meta.get("dataset_meta"):
            model.dataset_meta = meta["dataset_meta"]
    return model.to(device).eval()
