"""Helpers shared by the checkpoint converters."""
from __future__ import annotations

from typing import Iterable


def check_converted(state_dict: dict, required: Iterable[str], source: str) -> dict:
    """Raise a clear ``KeyError`` naming the first expected key the conversion did not yield."""
    for key in required:
        if key not in state_dict:
            raise KeyError(f"{source} checkpoint is missing the weights for {key!r}")
    return state_dict
