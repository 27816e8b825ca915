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


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint holds a pickled object outside the allow-list."""


def safe_torch_load(path: str | os.PathLike, map_location: Any = "cpu") -> Any:
    """Load ``path`` with ``weights_only=True`` and the allow-list; explain a refusal."""
    path = Path(path)
    # torch's context removes its globals on exit, even ones that allow_mmengine_checkpoints()
    # had added for the whole process before: only lend it the ones not allowed yet
    allowed = torch.serialization.get_safe_globals()
    lend = [g for g in SAFE_GLOBALS if g not in allowed]
    try:
        with torch.serialization.safe_globals(lend):
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError with a long message
        message = str(exc)
        if "weights_only" in message or "Unsupported global" in message:
            rejected = _rejected_global(message)
            raise UnsafeCheckpointError(
                f"{path}: refused to load a pickled object outside the allow-list"
                f"{f' ({rejected})' if rejected else ''}; the zoo never unpickles arbitrary "
                "objects from a checkpoint file"
            ) from exc
        raise


def _rejected_global(message: str) -> str:
    # torch words it "Unsupported global: GLOBAL x.y" or, for blocked modules such as
    # posix/os/builtins, "unsupported GLOBAL posix.system whose module posix is blocked".
    match = re.search(r"unsupported (?:global: )?GLOBAL (\S+)", message, flags=re.IGNORECASE)
    return match.group(1) if match else ""
