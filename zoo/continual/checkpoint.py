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

Resuming: with ``cfg.resume`` (``tools/train.py --resume``) the loop takes the resume request
away from mmengine (:func:`take_over_resume`; its epoch checkpoints cannot restore a grown head
or a strategy) and continues from ``last_task_checkpoint`` in the work dir, or from the
``task_<k>.pth`` given with ``--resume PATH``, at the next task (:func:`resume_run`). Each
epoch and each task start re-seeds the RNGs from the run seed, so a resumed run reproduces the
uninterrupted one.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import torch

from zoo.checkpoint import safe_torch_load
from zoo.engine.atomic_io import atomic_write_bytes

from .head import classifier_of, set_num_classes

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


# the loop's side: what a checkpoint holds, and resuming from one ------------------------------
def take_over_resume(runner) -> str | None:
    """Take ``--resume`` away from mmengine and return what to resume from (``'auto'``: the
    work dir's ``last_task_checkpoint``; a path; ``None``: no resume).

    mmengine's resume would load an epoch checkpoint into a model whose head has not grown yet
    and would not restore the strategy; the loop resumes by itself. mmengine has no public
    setter for the request, so this is the one place that touches the runner's private
    ``_resume`` / ``_load_from``.
    """
    if not runner._resume:
        return None
    source = runner._load_from or "auto"
    runner._resume, runner._load_from = False, None
    return source


def task_payload(model, strategy, scenario, record, epoch: int, iteration: int, seed: int
                 ) -> dict:
    """The content of a task checkpoint (``meta`` is completed by
    :func:`save_task_checkpoint`)."""
    return dict(
        meta=dict(epoch=epoch, iter=iteration, seed=seed,
                  num_classes=int(classifier_of(model).out_features),
                  strategy=strategy.name, **scenario.to_dict()),
        state_dict={k: v.detach().cpu() for k, v in model.state_dict().items()},
        strategy=strategy.state_dict(),
        results=record.state_dict(),
    )


def restore_task_checkpoint(path: str | os.PathLike, model, strategy, scenario, record
                            ) -> tuple[int, int, int]:
    """Check that the checkpoint belongs to this run (scenario, strategy), load the model, the
    strategy and the accuracy record; return ``(tasks done, epoch, iteration)``."""
    ckpt = load_task_checkpoint(path)
    meta = ckpt["meta"]
    mine = scenario.to_dict()
    if meta.get("type", "class") != mine.get("type", "class"):
        raise ContinualCheckpointError(
            f"{path} was written for a {meta.get('type', 'class')}-incremental scenario, the "
            f"config gives a {mine.get('type', 'class')}-incremental one")
    for key in ("class_order", "task_classes"):
        if [*map(plain, meta[key])] != [*map(plain, mine[key])]:
            raise ContinualCheckpointError(
                f"{path} was written for {key} {meta[key]}, the config gives {mine[key]}")
    if meta["strategy"] != strategy.name:
        raise ContinualCheckpointError(f"{path} was written by strategy {meta['strategy']}, "
                                       f"the config uses {strategy.name}")
    done = int(meta["tasks_done"])
    set_num_classes(model, int(meta["num_classes"]))
    strategy.task = done - 1
    strategy.load_state_dict(ckpt["strategy"], model)
    model.load_state_dict(ckpt["state_dict"])
    record.load_state_dict(ckpt["results"])
    return done, int(meta["epoch"]), int(meta["iter"])


def resume_run(source: str | os.PathLike, work_dir: str | os.PathLike, model, strategy,
               scenario, record, logger) -> tuple[int, int, int]:
    """Resume from ``source`` (a task checkpoint, or ``'auto'``: the one that
    ``last_task_checkpoint`` in ``work_dir`` names); returns ``(tasks done, epoch,
    iteration)``, ``(0, 0, 0)`` when ``'auto'`` finds nothing."""
    path = source
    if source == "auto":
        path = find_latest_task_checkpoint(work_dir)
        if path is None:
            logger.info(f"No continual task checkpoint in {work_dir}; starting at task 1")
            return 0, 0, 0
    done, epoch, iteration = restore_task_checkpoint(path, model, strategy, scenario, record)
    logger.info(f"Resumed continual run from {path}: {done} task(s) done")
    return done, epoch, iteration


def plain(value):
    """ConfigDict/tuple -> plain dict/list for JSON and comparisons."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
