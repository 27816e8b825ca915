"""Atomic writes for mmengine's local file backend.

mmengine saves checkpoints through ``LocalBackend.put``, which writes straight to the final
name; a run killed mid-write leaves a truncated ``epoch_N.pth`` that ``--resume`` would pick.
This backend writes to a temporary file in the same folder and renames it, so a checkpoint
is either absent or whole.
"""
from __future__ import annotations

from mmengine.fileio.backends import LocalBackend, register_backend

from zoo.fileio import atomic_write_bytes, atomic_write_text

__all__ = ["AtomicLocalBackend", "atomic_write_bytes", "atomic_write_text"]


class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` whose ``put`` is atomic (temporary file + rename)."""

    def put(self, obj: bytes, filepath) -> None:
        atomic_write_bytes(filepath, obj)

    def put_text(self, obj: str, filepath, encoding: str = "utf-8") -> None:
        atomic_write_text(filepath, obj, encoding)


register_backend("local", AtomicLocalBackend, force=True, prefixes="")
