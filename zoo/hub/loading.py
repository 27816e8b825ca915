"""Safe reading of checkpoint files into a flat ``{name: tensor}`` state dict.

``.safetensors`` files are read with safetensors (no code can run). Everything else goes
through :func:`zoo.checkpoint.safe_torch_load` — ``torch.load(weights_only=True)`` with the
zoo's explicit allow-list for mmengine checkpoints — so a pickle naming any other global is
refused with an error that names the file and the rejected global.

The usual wrappers are removed: ``{'state_dict': ...}`` (mmengine / mmcv / PYSKL),
``{'model': ...}``, ``{'module': ...}``, and a ``module.`` prefix left by (Distributed)DataParallel.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from zoo.checkpoint import UnsafeCheckpointError, safe_torch_load

__all__ = [
    "CheckpointFormatError",
    "UnsafeCheckpointError",
    "extract_state_dict",
    "load_state_dict_file",
]

_WRAPPER_KEYS = ("state_dict", "model", "module", "model_state_dict", "net")


class CheckpointFormatError(ValueError):
    """A checkpoint file holds no usable ``{name: tensor}`` mapping."""


def load_state_dict_file(path: str | os.PathLike, map_location: Any = "cpu"
                         ) -> dict[str, torch.Tensor]:
    """Read ``path`` (``.safetensors`` or a torch pickle) and return its flat state dict."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        device = map_location if isinstance(map_location, str) else "cpu"
        try:
            return load_file(str(path), device=device)
        except SafetensorError as exc:
            raise CheckpointFormatError(f"{path}: not a valid safetensors file ({exc})") from exc
    return extract_state_dict(safe_torch_load(path, map_location=map_location), source=str(path))


def _is_tensor_mapping(obj: Any) -> bool:
    return isinstance(obj, Mapping) and len(obj) > 0 and all(
        isinstance(v, torch.Tensor) for v in obj.values())


def extract_state_dict(obj: Any, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Unwrap ``state_dict``/``model``/``module`` containers and a ``module.`` key prefix."""
    if not isinstance(obj, Mapping):
        raise CheckpointFormatError(
            f"{source}: expected a mapping of parameter names to tensors, got "
            f"{type(obj).__name__}")
    for _ in range(3):  # nested wrappers, e.g. {'model': {'state_dict': ...}}
        if _is_tensor_mapping(obj):
            break
        inner = next((obj[k] for k in _WRAPPER_KEYS
                      if isinstance(obj.get(k), Mapping) and obj.get(k)), None)
        if inner is None:
            break
        obj = inner
    bad = [(k, type(v).__name__) for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad or not obj:
        detail = (f"key {bad[0][0]!r} holds a {bad[0][1]}, not a tensor" if bad
                  else "it is empty")
        raise CheckpointFormatError(
            f"{source}: not a state dict ({detail}); top-level keys: {sorted(obj)[:8]}")
    state = {str(k): v for k, v in obj.items()}
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state
