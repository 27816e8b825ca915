"""Atomic writes for mmengine's local file backend.

mmengine saves checkpoints through ``LocalBackend.put``, which writes straight to the final
name; a run killed mid-write leaves a truncated ``epoch_N.pth`` that ``--resume`` would pick.
This backend writes to a temporary file in the same folder and renames it, so a checkpoint
is either absent or whole. Importing this module changes nothing: call
:func:`install_atomic_backend` where configs are loaded or runners are built
(:func:`zoo.runner_utils.load_config` does).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from mmengine.fileio.backends import LocalBackend, register_backend


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary sibling and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` whose ``put`` is atomic (temporary file + rename)."""

    def put(self, obj: bytes, filepath) -> None:
        atomic_write_bytes(filepath, obj)

    def put_text(self, obj: str, filepath, encoding: str = "utf-8") -> None:
        atomic_write_bytes(filepath, obj.encode(encoding))


def install_atomic_backend() -> None:
    """Make :class:`AtomicLocalBackend` mmengine's backend for local paths (idempotent)."""
    register_backend("local", AtomicLocalBackend, force=True, prefixes="")
