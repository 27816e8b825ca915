"""vszoo: a model zoo for vision, human-skeleton and medical data on mmengine."""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# The pretrained hub's API, imported on first use so that ``import zoo`` stays fast.
_HUB_API = ("list_models", "model_info", "load_pretrained", "build_model", "download_model",
            "forget_model")
__all__ = [
    "__version__",
    "build_model",
    "download_model",
    "forget_model",
    "list_models",
    "load_pretrained",
    "model_info",
]


def __getattr__(name: str) -> Any:
    if name in _HUB_API:
        from zoo.hub import api

        return getattr(api, name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
