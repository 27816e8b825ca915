"""Parameters and FLOPs of any model the zoo builds (``tools/analysis/complexity.py``,
``benchmarks/skeleton_speed.py``, model cards).

FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` on one forward pass in eval
mode: a multiply-add is 2 FLOPs; convolutions, matrix products and einsums are counted, norms,
activations and pooling are not (the convention of fvcore / mmengine's ``get_model_complexity_info``
differs: they count a multiply-add as one FLOP, so their "FLOPs" are half these).

The input is, in order of preference: a shape the caller gives; for skeleton recognisers the
``[1, M, T, V, C]`` clip of the config's input spec (:mod:`zoo.analysis.input_spec`); else one
sample of the config's test (or val, train) data set through its pipeline and the model's data
preprocessor.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (all, or only those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_flops(model: nn.Module, *args: Any, **kwargs: Any) -> int:
    """FLOPs of ``model(*args, **kwargs)`` in eval mode (module mode restored afterwards)."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    try:
        with counter:  # not under no_grad: the module tracker of FlopCounterMode needs autograd
            model(*args, **kwargs)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


def build_from_config(cfg: Any) -> nn.Module:
    """The ``model`` of a config (path or ``Config``), built in the config's default scope."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from zoo.registry import MODELS

    if not isinstance(cfg, Config):
        cfg = Config.fromfile(str(cfg))
    if "model" not in cfg:
        raise KeyError(f"{cfg.filename or 'config'}: the config defines no `model`")
    with DefaultScope.overwrite_default_scope(cfg.get("default_scope", "zoo")):
        model = MODELS.build(cfg.model)
    return model


def _sample_batch(cfg: Any, model: nn.Module) -> dict:
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DefaultScope

    from zoo.registry import DATASETS

    errors = []
    for key in ("test_dataloader", "val_dataloader", "train_dataloader"):
        loader = cfg.get(key)
        if not loader or "dataset" not in loader:
            continue
        try:
            with DefaultScope.overwrite_default_scope(cfg.get("default_scope", "zoo")):
                dataset = DATASETS.build(loader["dataset"])
                sample = dataset[0]
        except Exception as exc:  # noqa: BLE001 - reported below with the other sources
            errors.append(f"{key}.dataset: {type(exc).__name__}: {exc}")
            continue
        collate = pseudo_collate
        collate_cfg = loader.get("collate_fn")
        if isinstance(collate_cfg, dict) and isinstance(collate_cfg.get("type"), str):
            from mmengine.registry import FUNCTIONS

            collate = FUNCTIONS.get(collate_cfg["type"]) or pseudo_collate
        batch = collate([sample])
        preprocessor = getattr(model, "data_preprocessor", None)
        return preprocessor(batch, False) if preprocessor is not None else batch
    raise ValueError("cannot make an input for the model: " + ("; ".join(errors) or
                     "the config has no data set") + "; pass the input shape (--shape)")


def config_complexity(cfg: Any, shape: Sequence[int] | None = None) -> dict:
    """``{'params', 'flops', 'gflops', 'input'}`` of the config's model on one input.

    ``input`` describes what was fed: a shape, or ``'sample of <loader>'``.
    """
    from mmengine.config import Config
    from mmengine.model import BaseModel

    from .input_spec import input_spec

    if not isinstance(cfg, Config):
        cfg = Config.fromfile(str(cfg))
    model = build_from_config(cfg)
    if shape is None:
        spec = input_spec(cfg, model)
        shape = spec.get("shape") if spec else None
    if shape is not None:
        x = torch.randn(*shape)
        args, kwargs = ((x,), {"mode": "tensor"}) if isinstance(model, BaseModel) else ((x,), {})
        described: Any = list(shape)
    else:
        data = _sample_batch(cfg, model)
        args, kwargs = (), dict(data, mode="tensor")
        inputs = data.get("inputs")
        described = (list(inputs.shape) if isinstance(inputs, torch.Tensor)
                     else "one sample of the config's data set")
    try:
        flops = count_flops(model, *args, **kwargs)
    except (RuntimeError, ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"{cfg.filename or 'config'}: the model does not run on the input "
                         f"{described} ({type(exc).__name__}: {exc}); pass --shape") from exc
    return {"params": count_params(model), "flops": flops, "gflops": flops / 1e9,
            "input": described}
