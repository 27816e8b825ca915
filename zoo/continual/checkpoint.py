"""Task-boundary checkpoints of the continual loop.

A checkpoint ``task_{k}.pth`` is written after ``k`` tasks. It holds only tensors and plain
containers (so ``zoo.checkpoint.safe_torch_load`` reads it with ``weights_only=True``):

``meta``        format tag, tasks done, epoch and iteration counters, head size, scenario
                (class order and task classes), strategy type, seed
``state_dict``  the model's weights (head grown to the classes seen)
``strategy``    the strategy's state (buffers, Fisher, teachers, prototypes, ...)
``results``     accuracy matrices (class-IL and task-IL, NaN where not yet measured) and
                per-task wall times

Files are written to a temporary name and renamed; ``last_task_checkpoint`` in the work dir
names the newest one.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import torch

from zoo.checkpoint import safe_torch_load
from zoo.engine.atomic_io import atomic_write_bytes

FORMAT = "zoo.continual.task_checkpoint/1"
POINTER = "last_task_checkpoint"


class ContinualCheckpointError(ValueError):
    """A file is not a continual task checkpoint or does not match the run."""


def save_task_checkpoint(work_dir: str | os.PathLike, tasks_done: int, payload: dict) -> Path:
    """Write ``task_{tasks_done}.pth`` atomically and point ``last_task_checkpoint`` at it."""
    work_dir = Path(work_dir)
    path = work_dir / f"task_{tasks_done}.pth"
    payload = dict(payload)
    payload["meta"] = {**payload.get("meta", {}), "format": FORMAT, "tasks_done": tasks_done}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    atomic_write_bytes(work_dir / POINTER, path.name.encode())
    return path


def find_latest_task_checkpoint(work_dir: str | os.PathLike) -> Path | None:
    """The file named by ``last_task_checkpoint`` in ``work_dir``, if any."""
    pointer = Path(work_dir) / POINTER
    if not pointer.is_file():
        return None
    path = Path(work_dir) / pointer.read_text().strip()
    if not path.is_file():
        raise ContinualCheckpointError(f"{pointer} names {path.name}, which does not exist")
    return path


def load_task_checkpoint(path: str | os.PathLike) -> dict:
    """Read a task checkpoint safely and check its format."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"continual checkpoint {path} does not exist")
    ckpt = safe_torch_load(path)
    meta = ckpt.get("meta", {}) if isinstance(ckpt, dict) else {}
    if meta.get("format") != FORMAT:
        raise ContinualCheckpointError(
            f"{path} is not a continual task checkpoint (meta.format is "
            f"{meta.get('format')!r}, expected {FORMAT!r}); resume a continual run from its "
            f"task_<k>.pth or from the work dir")
    for key in ("state_dict", "strategy", "results"):
        if key not in ckpt:
            raise ContinualCheckpointError(f"{path} has no {key!r} entry")
    return ckpt
