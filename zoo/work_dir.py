"""Output locations of the tools: protection of a training work dir that already holds a run,
and an early check that an output file can be written.

Training into a folder with checkpoints, without ``--resume``, would overwrite
``epoch_1.pth``, re-point ``last_checkpoint`` and leave the old run's later checkpoints beside
the new ones, so a later ``--resume`` would mix two runs. :func:`guard_work_dir` refuses that,
or moves the old run aside when the user asks.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

# Files that mark a work dir as holding a run (mmengine's and the continual loop's pointers).
_POINTERS = ("last_checkpoint", "last_task_checkpoint")


class WorkDirInUseError(FileExistsError):
    """The work dir holds another run's checkpoints and neither resume nor move was asked."""


def run_files(work_dir: str | os.PathLike) -> list[Path]:
    """Checkpoints (``*.pth``) and checkpoint pointers directly in ``work_dir``."""
    folder = Path(work_dir)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and (p.suffix == ".pth" or p.name in _POINTERS))


def guard_work_dir(work_dir: str | os.PathLike, resume: bool, move_old_run: bool = False,
                   rank: int | None = None) -> Path | None:
    """Check that training may write into ``work_dir``; return where an old run was moved.

    Args:
        work_dir: the run's folder.
        resume: the user asked to continue (``--resume``): existing checkpoints are wanted.
        move_old_run: rename a folder holding a run to ``<work_dir>_old_<time>`` and start
            afresh; only rank 0 moves, the other ranks of a distributed run wait for it.
        rank: process rank (default: ``$RANK`` or 0).

    Raises :class:`WorkDirInUseError` naming the folder, its checkpoints and the two flags.
    """
    if resume and move_old_run:
        raise ValueError("--resume continues the run in the work dir and --move-old-run moves "
                         "it away: pass one of them")
    if resume:
        return None
    rank = int(os.environ.get("RANK", 0)) if rank is None else rank
    if not move_old_run:
        _refuse_if_in_use(work_dir)  # every rank sees the same folder: all refuse alike
        return None
    try:
        return _move_aside(work_dir) if rank == 0 else None
    finally:
        _barrier()  # the other ranks build their runner only once the folder is free


def _barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def _refuse_if_in_use(work_dir: str | os.PathLike) -> None:
    found = run_files(work_dir)
    if found:
        names = ", ".join(p.name for p in found[:5]) + (", ..." if len(found) > 5 else "")
        raise WorkDirInUseError(
            f"work dir {work_dir} already holds a run ({names}); training into it would "
            "overwrite those checkpoints and mix two runs. Pass --resume to continue that run, "
            "--move-old-run to move it aside to a new folder, or choose another --work-dir")


def _move_aside(work_dir: str | os.PathLike) -> Path | None:
    found = run_files(work_dir)
    if not found:
        return None
    folder = Path(work_dir)
    stamp = time.strftime("%Y%m%d_%H%M%S")
    target = folder.with_name(f"{folder.name}_old_{stamp}")
    suffix = 1
    while target.exists():
        target = folder.with_name(f"{folder.name}_old_{stamp}_{suffix}")
        suffix += 1
    folder.rename(target)  # one rename: the old run stays whole
    return target


def check_output_file(path: str | os.PathLike, option: str = "output") -> None:
    """Fail now, not after a long run, when ``path`` cannot be written.

    Creates the missing parent folders and an unnamed temporary file beside ``path``, as the
    zoo's atomic writes need. Raises ``OSError`` naming the option and the path.
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"{option} {target}: is a folder; give a file name")
    existing = next(p for p in target.absolute().parents if p.exists())
    if not existing.is_dir():
        raise NotADirectoryError(f"{option} {target}: cannot write there ({existing} is a "
                                 "file, not a folder); choose another path")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=target.parent):  # gone on close, even if killed
            pass
    except OSError as exc:
        raise type(exc)(f"{option} {target}: cannot write there ({exc.strerror or exc}); "
                        "choose another path") from None
