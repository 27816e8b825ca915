"""Apply a sequence of forget requests with an unlearner and save the result.

The trained model comes from :func:`zoo.apis.init_model` (config + checkpoint, keys checked).
"""
from __future__ import annotations

import copy
import io
import json
import os
import time
from typing import Sequence

import torch
from mmengine.logging import MMLogger

from zoo.fileio import atomic_write_bytes
from zoo.unlearning.report import evaluate, public
from zoo.unlearning.requests import ForgetRequest


def build_unlearner(cfg: dict):
    import zoo.unlearning  # noqa: F401  (registers the unlearners)
    from zoo.registry import UNLEARNERS

    cfg = dict(cfg)
    if "type" not in cfg:
        raise KeyError("unlearner config needs a 'type'")
    name = cfg["type"]
    if UNLEARNERS.get(name) is None:
        raise KeyError(f"unknown unlearner {name!r}; registered: "
                       f"{sorted(UNLEARNERS.module_dict)}")
    return UNLEARNERS.build(cfg)


def apply_requests(model, ctx, unlearner, requests: Sequence[ForgetRequest]) -> dict:
    """Apply ``requests`` one after another; returns per-request timing and the total."""
    logger = MMLogger.get_current_instance()
    steps, total = [], 0.0
    for k, request in enumerate(requests):
        idx = ctx.apply_request(request)
        logger.info(f"request {k + 1}/{len(requests)}: {request.describe()} "
                    f"({len(idx)} samples, retain {len(ctx.retain_idx)})")
        start = time.perf_counter()
        unlearner.unlearn(model, ctx)
        seconds = time.perf_counter() - start
        total += seconds
        steps.append(dict(request=request.to_dict() if len(request.ids) <= 50 else dict(
            classes=list(request.classes), num_ids=len(request.ids), name=request.describe()),
            forget_samples=int(len(idx)), seconds=round(seconds, 3)))
    return dict(requests=steps, seconds=total)


def save_checkpoint(model, path: str | os.PathLike, meta: dict) -> None:
    """Write ``{'state_dict', 'meta'}`` atomically (temp file + rename)."""
    buffer = io.BytesIO()
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save(dict(state_dict=state, meta=json.loads(json.dumps(meta, default=str))), buffer)
    atomic_write_bytes(path, buffer.getvalue())


def write_json(path: str | os.PathLike, data: dict) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2, default=str) + "\n").encode())


def run_unlearner(model, ctx, unlearner_cfg: dict, requests: Sequence[ForgetRequest],
                  reference: dict | None = None, seed: int | None = 0,
                  amp: bool = False) -> tuple[dict, object]:
    """A copy of ``model`` unlearned (``ctx`` is reset first); returns (metrics, the copy).

    The global RNGs (augmentation, shuffling) are seeded with ``seed`` first, so that a row of
    a comparison does not depend on which unlearners ran before it (``None``: leave them).
    ``amp``: the copy's forward passes (unlearning and evaluation) run in bf16
    (:func:`zoo.engine.amp.bf16_forward`); losses, gradients and weights stay fp32.
    """
    from mmengine.runner import set_random_seed

    from zoo.engine.amp import bf16_forward
    from zoo.unlearning.report import compare

    if seed is not None:
        set_random_seed(seed)
    edited = copy.deepcopy(model)
    ctx.reset()
    unlearner = build_unlearner(unlearner_cfg)
    with bf16_forward(edited, enabled=amp):
        timing = apply_requests(edited, ctx, unlearner, requests)
        metrics = evaluate(edited, ctx)
    metrics["seconds"] = timing["seconds"]
    if reference is not None:
        metrics.update(compare(metrics, reference))
    metrics["_timing"] = timing
    metrics["_config"] = unlearner.config()
    return metrics, edited


__all__ = ["build_unlearner", "apply_requests",
           "save_checkpoint", "write_json", "run_unlearner", "public"]
