"""Pretrained hub: model index, verified cached downloads, safe loading, ``zoo://`` scheme.

The public functions are imported lazily (``zoo.hub.list_models`` etc.) so that importing the
package does not pull in torch or mmengine; ``import zoo.hub.scheme`` registers ``zoo://``
with mmengine's checkpoint loader (``zoo.runner_utils.load_config`` does it for the tools).
"""
from __future__ import annotations

from typing import Any

_API = ("list_models", "model_info", "load_pretrained", "build_model", "download_model",
        "load_weights", "cache_path", "get_converter", "forget_model")

__all__ = list(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'zoo.hub' has no attribute {name!r}")
