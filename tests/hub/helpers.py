"""Helpers shared by the hub tests."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import torch

from zoo.hub.download import RetryPolicy

FAST = RetryPolicy(retries=3, backoff=0.001, max_backoff=0.01, timeout=10)


def checkpoint_bytes(state_dict: dict, **extra) -> bytes:
    buffer = io.BytesIO()
    torch.save({"state_dict": state_dict, **extra}, buffer)
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cache_files(root: Path) -> list[str]:
    """Files under ``checkpoints/`` and ``urls/`` of the cache, relative, sorted."""
    return sorted(p.relative_to(root).as_posix() for sub in ("checkpoints", "urls")
                  if (root / sub).is_dir() for p in (root / sub).rglob("*") if p.is_file())
