"""Atomic file writes (a file is either absent, the old version, or whole) and the cache folder.

Every writer goes to a temporary sibling named ``.<name>.<host>.<pid>.<token>.tmp`` and is
renamed over the target with ``os.replace`` once flushed to disk. The file gets the mode an
ordinary ``open()`` would give (``0o666`` less the umask), not the ``0o600`` of ``mkstemp``.

A process killed mid-write (``SIGKILL``, power loss) cannot remove its temporary file; the
host and process id in the name let the next process that writes into the same folder (its
first write there) recognise it as an orphan (that process is gone) and delete it. Temporary
files of live processes, or of other hosts sharing the folder, are never touched.

Kept free of torch and mmengine so that command lines that only write tables start fast.
"""
from __future__ import annotations

import os
import re
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "atomic_writer",
           "cache_home", "current_umask", "remove_orphaned_temporaries"]

ENV_HOME = "VSZOO_HOME"
DEFAULT_HOME = "~/.cache/vszoo"


def cache_home() -> Path:
    """The zoo's cache folder (downloaded checkpoints, compiled kernels): ``$VSZOO_HOME`` or
    ``~/.cache/vszoo``."""
    return Path(os.environ.get(ENV_HOME) or DEFAULT_HOME).expanduser()

_UMASK_LOCK = threading.Lock()
_SWEPT: set[str] = set()  # folders already swept by this process (once is enough: orphans
# of processes killed later are swept by the next process)


def current_umask() -> int:
    """The process umask, read without changing it where ``/proc`` allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:  # os.umask can only be read by setting it
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:32] or "host"


def _temporary_name(path: Path, suffix: str = "") -> Path:
    return path.with_name(f".{path.name}.{_host()}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
                          f"{suffix}")


_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.[0-9a-f]{8}"
                        r"\.tmp(?:\..*)?$")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


def remove_orphaned_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete this host's temporary files in ``folder`` whose writing process is gone.

    Returns the removed paths. Called before every atomic write into a folder, so a run
    killed while writing a checkpoint leaves its temporary file only until the next write.
    """
    folder = Path(folder)
    removed = []
    host = _host()
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = _TEMPORARY.match(name) if name.startswith(".") else None
        if match is None or match["host"] != host:
            continue
        pid = int(match["pid"])
        if pid == os.getpid() or _process_alive(pid):
            continue
        try:
            (folder / name).unlink()
            removed.append(folder / name)
        except FileNotFoundError:  # another process removed it first
            pass
    return removed


def _publish(tmp: Path, path: Path) -> None:
    os.chmod(tmp, 0o666 & ~current_umask())
    os.replace(tmp, path)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary sibling of ``path`` to write by name (for libraries that take a file
    name, such as nibabel or tifffile); it keeps the target's suffix so that the library picks
    the same format, and is renamed onto ``path`` when the block ends without error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = os.path.abspath(path.parent)
    if folder not in _SWEPT:
        remove_orphaned_temporaries(folder)
        _SWEPT.add(folder)
    suffixes = "".join(path.suffixes[-2:]) if path.name.endswith(".nii.gz") else path.suffix
    tmp = _temporary_name(path, suffixes)
    try:
        yield tmp
        _publish(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_writer(path: str | os.PathLike, mode: str = "wb",
                  encoding: str | None = None) -> Iterator[IO]:
    """An open file (``mode`` ``'wb'`` or ``'w'``) that replaces ``path`` when the block ends
    without error, after an ``fsync``; on an error the target is left as it was."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_writer mode must be 'wb' or 'w', got {mode!r}")
    with atomic_path(path) as tmp:
        kwargs = {"encoding": encoding or "utf-8"} if mode == "w" else {}
        with open(tmp, "xb" if mode == "wb" else "x", **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_writer`)."""
    with atomic_writer(path, "wb") as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_writer`)."""
    with atomic_writer(path, "w", encoding=encoding) as f:
        f.write(text)
