"""Atomic writes for mmengine's local file backend.

mmengine saves checkpoints through ``LocalBackend.put``, which writes straight to the final
name; a run killed mid-write leaves a truncated ``epoch_N.pth`` that ``--resume`` would pick.
This backend writes to a temporary file in the same folder and renames it, so a checkpoint
is either absent or whole. Importing this module changes nothing: call
:func:`install_atomic_backend` where configs are loaded or runners are built
(:func:`zoo.runner_utils.load_config` does).
"""
from __future__ import annotations

from mmengine.fileio.backends import LocalBackend, register_backend

from zoo.fileio import atomic_write_bytes, atomic_write_text

__all__ = ["AtomicLocalBackend", "atomic_write_bytes", "atomic_write_text",
           "install_atomic_backend"]


class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` whose ``put`` is atomic (temporary file + rename)."""

    def put(self, obj: bytes, filepath) -> None:
        atomic_write_bytes(filepath, obj)

    def put_text(self, obj: str, filepath, encoding: str = "utf-8") -> None:
        atomic_write_text(filepath, obj, encoding)


def install_atomic_backend() -> None:
    """Make :class:`AtomicLocalBackend` mmengine's backend for local paths (idempotent)."""
    register_backend("local", AtomicLocalBackend, force=True, prefixes="")
