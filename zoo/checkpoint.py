"""Safe checkpoint loading: ``torch.load(weights_only=True)`` with an explicit allow-list.

PyTorch >= 2.6 refuses to unpickle anything but tensors and plain containers by default.
mmengine's checkpoints also carry its ``HistoryBuffer`` (inside the message hub), numpy
arrays and scalars, and a few config containers; resuming needs exactly those, so they are
allowed by name. Anything else in a file stays refused.
"""
from __future__ import annotations

import collections
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

try:  # numpy >= 2 moved the pickle helpers to numpy._core.
    from numpy._core.multiarray import _reconstruct, scalar
except ImportError:  # pragma: no cover - numpy < 2
    from numpy.core.multiarray import _reconstruct, scalar


def _numpy_dtype_classes() -> list[type]:
    classes = {type(np.dtype(code)) for code in "?bBhHiIlLqQefdgFDGSUVOMm"}
    return sorted(classes, key=lambda c: c.__name__)


def _mmengine_globals() -> list[Any]:
    from mmengine.logging.history_buffer import HistoryBuffer

    allowed: list[Any] = [HistoryBuffer]
    try:
        from mmengine.config.config import ConfigDict

        allowed.append(ConfigDict)
    except ImportError:  # pragma: no cover
        pass
    return allowed


SAFE_GLOBALS: list[Any] = [
    _reconstruct,
    scalar,
    np.ndarray,
    np.dtype,
    *_numpy_dtype_classes(),
    collections.OrderedDict,
    collections.defaultdict,
    *_mmengine_globals(),
]


def _history_buffer_state(self) -> dict:
    # mmengine's own __getstate__ adds the class-wide registry of statistics functions, which
    # pickles as ``getattr(HistoryBuffer, 'mean')``; allowing ``getattr`` would let a file
    # reach any attribute. The registry is rebuilt on import, so the state leaves it out
    # (mmengine's __setstate__ accepts a state without it).
    state = dict(self.__dict__)
    state.pop("statistics_methods", None)
    return state


def allow_mmengine_checkpoints() -> None:
    """Make mmengine's checkpoints load under ``weights_only=True`` (idempotent).

    Adds :data:`SAFE_GLOBALS` to torch's allow-list and makes ``HistoryBuffer`` pickle
    without function references. Called by ``tools/train.py`` and ``tools/test.py`` so that
    mmengine's ``resume`` works under the default ``weights_only=True`` of PyTorch >= 2.6.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    HistoryBuffer.__getstate__ = _history_buffer_state
    torch.serialization.add_safe_globals(SAFE_GLOBALS)
    install_safe_local_loader()


def load_from_local_safe(filename: str, map_location: Any = None) -> Any:
    """mmengine checkpoint loader for local paths (the name after `load_from_` is logged)."""
    return safe_torch_load(os.path.expanduser(filename), map_location=map_location)


def load_from_http_safe(filename: str, map_location: Any = None) -> Any:
    """mmengine checkpoint loader for http(s) URLs: downloaded like mmengine's own loader
    (into ``<TORCH_HOME>/checkpoints``, local rank 0 first, kept for the next run), then read
    through :func:`safe_torch_load`; an unreadable download is deleted from that cache."""
    from urllib.parse import urlparse

    from mmengine.dist import get_dist_info
    from torch.hub import download_url_to_file, get_dir

    cache = Path(get_dir()).parent / "checkpoints"
    cache.mkdir(parents=True, exist_ok=True)
    cached = cache / os.path.basename(urlparse(filename).path)
    rank, world_size = get_dist_info()
    for turn in (0, 1):  # rank 0 downloads, the others read after the barrier
        if (rank == 0) == (turn == 0) and not cached.is_file():
            download_url_to_file(filename, str(cached), progress=False)
        if world_size > 1 and turn == 0:
            torch.distributed.barrier()
    try:
        return safe_torch_load(cached, map_location=map_location, hint=False)
    except UnreadableCheckpointError:
        if rank == 0:
            cached.unlink(missing_ok=True)
        raise UnreadableCheckpointError(
            f"{filename} (downloaded to {cached}) is not a readable checkpoint (truncated? not "
            "a torch file? an error page?); the download was removed from the cache") from None


def install_safe_local_loader() -> None:
    """Make mmengine read local checkpoints (``load_from``, ``resume``) and http(s) URLs
    through :func:`safe_torch_load`, so an unreadable file gets the zoo's error, never torch's
    advice to retry with ``weights_only=False`` (idempotent)."""
    from mmengine.runner.checkpoint import CheckpointLoader

    CheckpointLoader.register_scheme(prefixes="", loader=load_from_local_safe, force=True)
    CheckpointLoader.register_scheme(prefixes=("http://", "https://"),
                                     loader=load_from_http_safe, force=True)


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint holds a pickled object outside the allow-list."""


class UnreadableCheckpointError(ValueError):
    """A checkpoint file is truncated, empty or not a torch file at all."""


def safe_torch_load(path: str | os.PathLike, map_location: Any = "cpu", *,
                    hint: bool = True) -> Any:
    """Load ``path`` with ``weights_only=True`` and the allow-list; explain a refusal.

    Raises :class:`UnsafeCheckpointError` for a pickled global outside the allow-list and
    :class:`UnreadableCheckpointError` for a file torch cannot parse; never torch's own text,
    which advises ``weights_only=False`` (a user must never follow that for a downloaded file).
    With ``hint``, an unreadable ``epoch_N.pth`` / ``iter_N.pth`` error names the newest
    readable checkpoint before it in the same folder.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file {path} does not exist")
    # torch's context removes its globals on exit, even ones that allow_mmengine_checkpoints()
    # had added for the whole process before: only lend it the ones not allowed yet
    allowed = torch.serialization.get_safe_globals()
    lend = [g for g in SAFE_GLOBALS if g not in allowed]
    try:
        with torch.serialization.safe_globals(lend):
            return torch.load(path, map_location=map_location, weights_only=True)
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # torch raises UnpicklingError/RuntimeError/EOFError/OSError
        rejected = _rejected_global(str(exc))
        if rejected:
            raise UnsafeCheckpointError(
                f"{path}: refused to load a pickled object outside the allow-list "
                f"({rejected}); the zoo never unpickles arbitrary objects from a checkpoint file"
            ) from None
        raise UnreadableCheckpointError(
            f"{path} is not a readable checkpoint (truncated? not a torch file?)"
            f"{_previous_checkpoint_hint(path) if hint else ''}") from None


def _rejected_global(message: str) -> str:
    # torch words it "Unsupported global: GLOBAL x.y" or, for blocked modules such as
    # posix/os/builtins, "unsupported GLOBAL posix.system whose module posix is blocked".
    # An allowed callable that builds an object of another class reads "Can only build ...
    # allowlisted via `add_safe_globals`, but got <class 'x.Y'>".
    match = re.search(r"unsupported (?:global: )?GLOBAL (\S+)", message, flags=re.IGNORECASE)
    if match:
        return match.group(1)
    match = re.search(r"allowlisted\s+via `add_safe_globals`,? but got (.+)", message)
    return match.group(1).strip().splitlines()[0] if match else ""


_NUMBERED = re.compile(r"^(epoch|iter)_(\d+)\.pth$")


def readable_checkpoint(path: str | os.PathLike) -> bool:
    """Whether ``path`` loads through :func:`safe_torch_load` (tensors on the CPU)."""
    try:
        safe_torch_load(path, hint=False)
    except (UnreadableCheckpointError, UnsafeCheckpointError, FileNotFoundError):
        return False
    return True


def previous_good_checkpoint(path: str | os.PathLike) -> Path | None:
    """The newest readable ``epoch_N.pth`` / ``iter_N.pth`` beside ``path`` older than it."""
    path = Path(path)
    own = _NUMBERED.match(path.name)
    candidates = []
    for other in path.parent.glob("*.pth"):
        match = _NUMBERED.match(other.name)
        if other.name == path.name or match is None:
            continue
        if own and (match.group(1) != own.group(1) or int(match.group(2)) > int(own.group(2))):
            continue
        candidates.append((int(match.group(2)), other))
    for _, other in sorted(candidates, reverse=True):
        if readable_checkpoint(other):
            return other
    return None


def _previous_checkpoint_hint(path: Path) -> str:
    if not _NUMBERED.match(path.name):
        return ""
    try:
        previous = previous_good_checkpoint(path)
    except OSError:
        return ""
    if previous is None:
        return ""
    return (f"; the newest readable checkpoint before it is {previous}: resume from it with "
            f"`tools/train.py CONFIG --resume {previous}`")


# --- does a state dict fit a model? -------------------------------------------------------

class CheckpointMismatchError(KeyError, ValueError):
    """A state dict does not fit the model: missing, unexpected or mis-shaped keys.

    A ``KeyError`` (missing / unexpected keys) and a ``ValueError`` (shapes) at once, so callers
    written for either keep working.
    """

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0])


@dataclass
class KeyReport:
    """How a state dict's keys relate to a model's (see :func:`compare_state_dict`)."""

    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple, tuple]] = field(default_factory=list)
    reinitialised: list[tuple[str, tuple, tuple]] = field(default_factory=list)

    @property
    def serious_missing(self) -> list[str]:
        # checkpoints written before BatchNorm counted its batches lack these
        return [k for k in self.missing if not k.endswith("num_batches_tracked")]

    def describe(self, limit: int = 4) -> str:
        parts = []
        if self.serious_missing:
            parts.append(f"{len(self.serious_missing)} missing (e.g. "
                         f"{self.serious_missing[:limit]})")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} unexpected (e.g. {self.unexpected[:limit]})")
        if self.mismatched:
            parts.append(f"{len(self.mismatched)} mis-shaped: " + ", ".join(
                f"{k} has shape {ck} in the checkpoint but {mk} in the model"
                for k, ck, mk in self.mismatched[:limit]))
        return "; ".join(parts)


def compare_state_dict(model_state: Mapping[str, Any], state: Mapping[str, Any],
                       head_prefix: str | None = None) -> KeyReport:
    """Sort the keys of ``state`` against ``model_state``; mis-shaped keys under
    ``head_prefix`` count as re-initialised (fine-tuning to another label set)."""
    prefix = head_prefix.rstrip(".") + "." if head_prefix else None
    report = KeyReport()
    for key, value in state.items():
        if key not in model_state:
            report.unexpected.append(key)
            continue
        own, theirs = tuple(model_state[key].shape), tuple(getattr(value, "shape", ()))
        if own != theirs:
            target = (report.reinitialised if prefix and key.startswith(prefix)
                      else report.mismatched)
            target.append((key, theirs, own))
        else:
            report.loaded.append(key)
    loaded = set(report.loaded) | {k for k, _, _ in report.reinitialised + report.mismatched}
    report.missing = [k for k in model_state if k not in loaded]
    return report


def load_state_dict_checked(model: torch.nn.Module, state: Mapping[str, Any], *,
                            source: str = "checkpoint", strict: bool = True,
                            head_prefix: str | None = None) -> KeyReport:
    """Copy ``state`` into ``model`` after checking that it fits.

    Mis-shaped keys are always an error, except under ``head_prefix``, where the model keeps
    its own (re-initialised) head and the dropped keys are logged. With ``strict``, missing
    (``num_batches_tracked`` counters excepted) and unexpected keys are an error too; without,
    they are logged. Errors are :class:`CheckpointMismatchError` naming every kind of key.
    """
    from mmengine.logging import MMLogger

    report = compare_state_dict(model.state_dict(), state, head_prefix)
    if report.mismatched or (strict and (report.serious_missing or report.unexpected)):
        raise CheckpointMismatchError(
            f"{source}: the checkpoint does not fit the model: {report.describe()}; a wrong "
            "config, checkpoint or converter?")
    logger = MMLogger.get_current_instance()
    if report.serious_missing or report.unexpected:
        logger.warning(f"{source}: the checkpoint does not fit the model exactly: "
                       f"{report.describe()}")
    model.load_state_dict({k: state[k] for k in report.loaded}, strict=False)
    if report.reinitialised:
        logger.warning(
            f"{source}: re-initialised {len(report.reinitialised)} head weight(s) whose shape "
            "differs from the checkpoint; dropped checkpoint keys: "
            + ", ".join(f"{k} {ck} -> model {mk}" for k, ck, mk in report.reinitialised))
    return report
