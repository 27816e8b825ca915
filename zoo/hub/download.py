"""Verified, resumable downloads into the zoo's cache (standard library ``urllib`` only).

A file reaches its final name in the cache only after its sha256 matched: bytes go to
``<name>.part`` beside it, the hash is checked, then ``os.replace`` renames it. A ``.part``
left by a broken connection is resumed with an HTTP ``Range`` request (started again when the
server ignores the range); a ``.part`` whose hash does not match is deleted.

Environment:
    ``VSZOO_HOME``        cache folder (default ``~/.cache/vszoo``).
    ``VSZOO_MIRROR``      base URL replacing the scheme and host of every http(s) URL,
                          e.g. ``http://mirror.lan/zoo`` turns
                          ``https://download.openmmlab.com/mmaction/x.pth`` into
                          ``http://mirror.lan/zoo/mmaction/x.pth``.
    ``VSZOO_OFFLINE=1``   never touch the network; a missing file raises :class:`OfflineError`
                          naming the file and the exact path to place it at.
    ``VSZOO_NO_PROGRESS=1`` no progress bar (it is also off when stderr is not a terminal).
    ``VSZOO_TRUST_ON_FIRST_USE=1`` accept a download whose source publishes no hash and
                          record its digest (see below) — the default is to refuse.

Hashes: a full sha256 or a prefix (OpenMMLab/torchvision publish the first 8 hex digits in the
file name). Files without a published hash are refused unless the caller passes a hash or
asks for trust-on-first-use; the digest of such a first download is *pinned* in the cache's
``manifest.json`` and every later download or ``zoo verify`` must match it. Such a file is
pinned only when it looks like a checkpoint (:func:`checkpoint_content_problem`: torch zip or
pickle, safetensors); :func:`forget_file` (``zoo forget``) clears a pin. Each download holds
an inter-process lock, so concurrent processes fetch a file once.
"""
from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import logging
import os
import re
import shutil
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlparse

from zoo.fileio import atomic_write_text, cache_home

logger = logging.getLogger("zoo.hub")

ENV_MIRROR = "VSZOO_MIRROR"
ENV_OFFLINE = "VSZOO_OFFLINE"
ENV_NO_PROGRESS = "VSZOO_NO_PROGRESS"
ENV_TOFU = "VSZOO_TRUST_ON_FIRST_USE"
CHUNK = 1 << 16
_HEX = re.compile(r"^[0-9a-f]+$")
_NAME_HASH = re.compile(r"-([0-9a-f]{8,64})\.[A-Za-z0-9]+$")


class DownloadError(RuntimeError):
    """A file could not be fetched (after the retries)."""


class HashMismatchError(DownloadError):
    """The bytes do not have the expected sha256."""


class OfflineError(DownloadError):
    """``VSZOO_OFFLINE=1`` and the file is not in the cache."""


class UnverifiedDownloadError(DownloadError):
    """No hash is known for a file and trust-on-first-use was not requested."""


class NotACheckpointError(DownloadError):
    """A file without a published hash is not a checkpoint (an HTML page, empty, ...)."""


class _Retryable(Exception):
    """A transient failure: the attempt is repeated after a back-off."""


@dataclass(frozen=True)
class RetryPolicy:
    """``retries`` extra attempts, sleeping ``backoff * 2**k`` (capped) between them."""

    retries: int = 4
    backoff: float = 1.0
    max_backoff: float = 30.0
    timeout: float = 60.0

    def delay(self, attempt: int) -> float:
        return min(self.backoff * (2 ** attempt), self.max_backoff)


# --- environment ---------------------------------------------------------------------------

def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def cache_dir() -> Path:
    """The cache folder: ``$VSZOO_HOME`` or ``~/.cache/vszoo``."""
    return cache_home()


def checkpoints_dir() -> Path:
    return cache_dir() / "checkpoints"


def is_offline() -> bool:
    return _env_flag(ENV_OFFLINE)


def trust_on_first_use_default() -> bool:
    return _env_flag(ENV_TOFU)


def apply_mirror(url: str, mirror: str | None = None) -> str:
    """Replace scheme and host of an http(s) ``url`` by ``mirror`` (default ``$VSZOO_MIRROR``)."""
    mirror = mirror if mirror is not None else os.environ.get(ENV_MIRROR, "")
    parsed = urlparse(url)
    if not mirror or parsed.scheme not in ("http", "https"):
        return url
    rest = parsed.path + (f"?{parsed.query}" if parsed.query else "")
    return mirror.rstrip("/") + "/" + rest.lstrip("/")


# --- hashes --------------------------------------------------------------------------------

def normalise_hash(value: str) -> str:
    """Lower-case hex of 8..64 digits (a sha256 or its published prefix); else ``ValueError``."""
    text = value.strip().lower()
    text = text.removeprefix("sha256:")
    if not (8 <= len(text) <= 64 and _HEX.match(text)):
        raise ValueError(f"{value!r} is not a sha256 hex digest or a prefix of 8-64 hex digits")
    return text


def hash_from_filename(url_or_name: str) -> str | None:
    """Hash prefix embedded as ``name-<hex>.ext`` (torch.hub / OpenMMLab convention), if any."""
    name = Path(unquote(urlparse(url_or_name).path or url_or_name)).name
    match = _NAME_HASH.search(name)
    return match.group(1) if match else None


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def hash_matches(digest: str, expected: str) -> bool:
    return digest.lower().startswith(normalise_hash(expected))


# --- content sniffing (what trust-on-first-use may pin) -------------------------------------

def checkpoint_content_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` is obviously not a checkpoint, or ``None`` when it looks like one.

    Accepted: a torch zip archive (``torch.save`` since 1.6: a zip holding ``*/data.pkl``), a
    legacy torch pickle (pickle protocol 2-5 opcode first) and a safetensors file (8-byte
    little-endian header length, then a JSON object). Only the first bytes and the zip
    directory are read; the content is not unpickled.
    """
    import struct
    import zipfile

    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        return "it is empty (0 bytes)"
    with open(path, "rb") as f:
        head = f.read(4096)
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body")):
        return "it is an HTML/XML page, not a checkpoint (an error or login page?)"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            return f"it is a broken zip archive ({exc})"
        if any(n.endswith("data.pkl") for n in names):
            return None
        return f"it is a zip archive without a torch data.pkl (holds {names[:3]})"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return None
    if len(head) >= 10:
        (length,) = struct.unpack("<Q", head[:8])
        if 2 <= length <= size - 8 and head[8:9] == b"{":
            with open(path, "rb") as f:
                f.seek(8)
                header = f.read(length)
            try:
                if isinstance(json.loads(header), dict):
                    return None
            except (UnicodeDecodeError, json.JSONDecodeError):
                pass
    return (f"it is neither a torch checkpoint (zip or pickle) nor a safetensors file "
            f"(starts with {head[:16]!r})")


def _check_content(path: Path, what: str) -> None:
    problem = checkpoint_content_problem(path)
    if problem is not None:
        raise NotACheckpointError(
            f"{what}: {problem}; it was not pinned or cached. Check the URL (or "
            f"{ENV_MIRROR}), or pass the sha256 you expect")


# --- small file utilities ------------------------------------------------------------------

@contextlib.contextmanager
def _locked(key: str, quiet: bool = False) -> Iterator[None]:
    """Inter-process lock (``flock``) on ``<cache>/locks/<key>.lock``; no-op without fcntl."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    lock_dir = cache_dir() / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", key)[-150:]
    with open(lock_dir / f"{safe}.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # e.g. another DDP rank downloads the same entry
            if not quiet:
                logger.warning("%s: another process holds the lock (downloading it?); "
                               "waiting", key)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- manifest: what was verified, and pinned digests ---------------------------------------

class Manifest:
    """``<cache>/manifest.json``: per cached file its sha256, size, URL and how it was checked.

    ``verified`` is the hash the file was checked against (``None`` for a trust-on-first-use
    download, whose own digest is then ``pinned`` and enforced later).
    """

    def __init__(self, root: Path | None = None):
        self.root = root or cache_dir()
        self.path = self.root / "manifest.json"

    def key(self, file: Path) -> str:
        try:
            return Path(file).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(Path(file).resolve())

    def load(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DownloadError(f"{self.path}: unreadable cache manifest ({exc}); delete it "
                                "and run `zoo verify` to rebuild it") from exc
        if not isinstance(data, dict):
            raise DownloadError(f"{self.path}: the cache manifest is not a JSON object")
        return data

    def get(self, file: Path) -> dict | None:
        return self.load().get(self.key(file))

    def record(self, file: Path, digest: str, url: str | None, verified: str | None) -> None:
        with _locked("manifest", quiet=True):
            data = self.load()
            data[self.key(file)] = {
                "sha256": digest,
                "size": Path(file).stat().st_size,
                "url": url,
                "verified": verified,
                "pinned": verified is None,
                "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
            atomic_write_text(self.path, json.dumps(data, indent=1, sort_keys=True))

    def forget(self, file: Path) -> dict | None:
        """Drop the record (and so a pinned digest) of ``file``; returns the record removed."""
        with _locked("manifest", quiet=True):
            data = self.load()
            record = data.pop(self.key(file), None)
            if record is not None:
                atomic_write_text(self.path, json.dumps(data, indent=1, sort_keys=True))
        return record


# --- transfer ------------------------------------------------------------------------------

def _progress_bar(total: int | None, initial: int, desc: str, enabled: bool | None):
    from tqdm import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty() and not _env_flag(ENV_NO_PROGRESS)
    return tqdm(total=total, initial=initial, desc=desc, unit="B", unit_scale=True,
                unit_divisor=1024, disable=not enabled, file=sys.stderr, leave=False)


def _is_retryable_http(code: int) -> bool:
    return code >= 500 or code in (408, 429)


def _download_once(url: str, part: Path, timeout: float, progress: bool | None) -> None:
    """One HTTP attempt appending to (or restarting) ``part``; raises ``_Retryable``."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "vszoo-hub"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            part.unlink(missing_ok=True)  # the server cannot continue this .part: start again
            raise _Retryable(f"HTTP 416 for the resume range bytes={offset}-") from exc
        if _is_retryable_http(exc.code):
            raise _Retryable(f"HTTP {exc.code} {exc.reason}") from exc
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _Retryable(f"{type(exc).__name__}: {exc}") from exc

    with response:
        length = response.headers.get("Content-Length")
        remaining = int(length) if length is not None else None
        if offset and response.status == 206:
            content_range = response.headers.get("Content-Range", "")
            match = re.match(r"bytes (\d+)-\d+/(\d+|\*)", content_range)
            if not match or int(match.group(1)) != offset:
                part.unlink(missing_ok=True)
                raise _Retryable(f"unexpected Content-Range {content_range!r} for "
                                 f"bytes={offset}-; restarting")
            mode, total = "ab", (int(match.group(2)) if match.group(2) != "*" else None)
        else:  # a full body: the server ignored the range (or there was none)
            mode, offset = "wb", 0
            total = remaining
        received = 0
        try:
            with open(part, mode) as f, _progress_bar(total, offset, part.name[:-5],
                                                      progress) as bar:
                while True:
                    block = response.read(CHUNK)
                    if not block:
                        break
                    f.write(block)
                    received += len(block)
                    bar.update(len(block))
                f.flush()
                os.fsync(f.fileno())
        except (OSError, http.client.HTTPException) as exc:
            raise _Retryable(f"connection lost after {offset + received} bytes: {exc}") from exc
    if remaining is not None and received < remaining:
        raise _Retryable(f"connection closed after {offset + received} of {offset + remaining} "
                         "bytes")


def _download_with_retries(url: str, part: Path, policy: RetryPolicy,
                           progress: bool | None) -> None:
    last: Exception | None = None
    for attempt in range(policy.retries + 1):
        try:
            _download_once(url, part, policy.timeout, progress)
            return
        except (TimeoutError, _Retryable) as exc:
            last = exc
            if attempt < policy.retries:
                delay = policy.delay(attempt)
                logger.warning("%s: %s; retrying in %.3g s (%d/%d)", url, exc, delay,
                               attempt + 1, policy.retries)
                time.sleep(delay)
    kept = (f"; the partial file {part} ({part.stat().st_size} bytes) is kept and the next "
            "download resumes it") if part.exists() else ""
    raise DownloadError(f"{url}: download failed after {policy.retries + 1} attempts: "
                        f"{last}{kept}")


def _local_source(url: str) -> Path | None:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "":
        return Path(url)
    return None


def _copy_local(src: Path, part: Path) -> None:
    if not src.is_file():
        raise DownloadError(f"{src}: no such file")
    with open(src, "rb") as fin, open(part, "wb") as fout:
        shutil.copyfileobj(fin, fout, CHUNK)
        fout.flush()
        os.fsync(fout.fileno())


# --- public entry points -------------------------------------------------------------------

def _unverified_message(what: str, dest: Path) -> str:
    return (f"{what}: the source publishes no sha256, so the file cannot be verified. Pass the "
            "hash you expect (sha256=... / `zoo download NAME --sha256 HEX`), or accept this "
            "first download and pin its digest (trust_on_first_use=True / "
            f"`--trust-on-first-use` / {ENV_TOFU}=1). Cache path: {dest}")


def verify_cached(dest: Path, expected: str | None, *, url: str | None = None,
                  trust_on_first_use: bool = False, manifest: Manifest | None = None) -> Path:
    """Check a file already at ``dest`` (downloaded earlier or placed by hand).

    A file recorded in the manifest with the same size and a compatible hash is accepted
    without re-hashing (the second load is cheap); anything else is hashed now.
    """
    manifest = manifest or Manifest()
    record = manifest.get(dest)
    size = dest.stat().st_size
    if (record and record.get("size") == size
            and (expected is None or hash_matches(record["sha256"], expected))):
        return dest
    if expected is None and record:
        expected = record["sha256"]  # pinned earlier
    digest = sha256_file(dest)
    if expected is not None:
        if not hash_matches(digest, expected):
            raise HashMismatchError(
                f"{dest}: sha256 {digest} does not match the expected {expected}; the cached "
                "file is corrupt or not the published one — delete it (or run "
                "`zoo verify --delete`) and download again")
        manifest.record(dest, digest, url, expected)
        return dest
    if not trust_on_first_use:
        raise UnverifiedDownloadError(_unverified_message(str(dest), dest))
    _check_content(dest, str(dest))
    logger.warning("%s: no published hash; pinned its sha256 %s (trust on first use)",
                   dest, digest)
    manifest.record(dest, digest, url, None)
    return dest


def fetch(url: str, dest: str | os.PathLike, sha256: str | None = None, *,
          trust_on_first_use: bool | None = None, policy: RetryPolicy | None = None,
          progress: bool | None = None) -> Path:
    """Download ``url`` to ``dest`` (in the cache) unless a verified copy is already there.

    Args:
        url: http(s) URL, ``file://`` URL or a plain path. ``$VSZOO_MIRROR`` rewrites http(s).
        dest: final path; the download goes to ``dest + '.part'`` first.
        sha256: expected full digest or prefix; ``None`` uses a digest pinned earlier or, with
            ``trust_on_first_use``, pins the digest of this download.
        policy: retries / back-off / timeout.
        progress: force the progress bar on/off (default: on for a terminal).

    Returns the verified ``dest``. Raises :class:`HashMismatchError` (the ``.part`` is
    deleted), :class:`OfflineError`, :class:`UnverifiedDownloadError` (before any request) or
    :class:`DownloadError` (retries exhausted; a partial ``.part`` is kept for resuming).
    """
    dest = Path(dest)
    expected = normalise_hash(sha256) if sha256 else None
    tofu = trust_on_first_use_default() if trust_on_first_use is None else trust_on_first_use
    policy = policy or RetryPolicy()
    manifest = Manifest()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _locked(manifest.key(dest)):
        if dest.exists():
            return verify_cached(dest, expected, url=url, trust_on_first_use=tofu,
                                 manifest=manifest)
        if expected is None:
            record = manifest.get(dest)
            expected = record["sha256"] if record else None
        local = _local_source(url)
        if is_offline() and local is None:
            raise OfflineError(
                f"{ENV_OFFLINE}=1 and {dest} is not in the cache: download {url} yourself and "
                f"place it at {dest}" + (f" (its sha256 must start with {expected})" if expected
                                         else " (no published hash: it is accepted only with "
                                         "a sha256 from you or trust-on-first-use)")
                + f", or unset {ENV_OFFLINE}")
        if expected is None and not tofu:
            raise UnverifiedDownloadError(_unverified_message(url, dest))
        part = dest.with_name(dest.name + ".part")
        source = url if local else apply_mirror(url)
        for attempt in (0, 1):
            resumed = part.exists() and part.stat().st_size > 0
            if local is not None:
                _copy_local(local, part)
            else:
                _download_with_retries(source, part, policy, progress)
            digest = sha256_file(part)
            if expected is None or hash_matches(digest, expected):
                break
            part.unlink(missing_ok=True)
            if not (resumed and attempt == 0):
                raise HashMismatchError(
                    f"{source}: downloaded sha256 {digest} does not match the expected "
                    f"{expected}; the download was deleted, nothing was cached")
            logger.warning("%s: the resumed file has the wrong sha256; downloading it again "
                           "from the start", source)
        if expected is None:  # nothing vouches for these bytes: at least refuse non-checkpoints
            try:
                _check_content(part, source)
            except NotACheckpointError:
                part.unlink(missing_ok=True)
                raise
        os.replace(part, dest)
        if expected is None:
            logger.warning("%s: no published hash; pinned its sha256 %s (trust on first use)",
                           url, digest)
        manifest.record(dest, digest, url, expected)
        return dest


def forget_file(dest: str | os.PathLike) -> list[str]:
    """Remove a cached file, its partial download and its manifest record (a pinned digest).

    Holds the file's download lock, so it never removes a file another process is writing.
    Returns what was removed, one description per item (empty: nothing was cached).
    """
    dest = Path(dest)
    manifest = Manifest()
    removed = []
    with _locked(manifest.key(dest)):
        for path in (dest, dest.with_name(dest.name + ".part")):
            if path.is_file():
                path.unlink()
                removed.append(str(path))
        record = manifest.forget(dest)
        if record is not None:
            how = "pinned" if record.get("pinned") else "verified"
            removed.append(f"manifest record of {manifest.key(dest)} ({how} sha256 "
                           f"{record.get('sha256')})")
    return removed


def url_cache_path(url: str) -> Path:
    """Cache path for an ad-hoc URL: ``<cache>/urls/<12 hex of the URL>/<file name>``."""
    name = Path(unquote(urlparse(url).path)).name or "download"
    return cache_dir() / "urls" / hashlib.sha256(url.encode()).hexdigest()[:12] / name


# --- verification of the whole cache --------------------------------------------------------

@dataclass
class CacheReport:
    """Result of :func:`verify_cache`: lists of ``(path, detail)``."""

    ok: list[tuple[Path, str]]
    bad: list[tuple[Path, str]]
    unverified: list[tuple[Path, str]]
    partial: list[tuple[Path, str]]
    missing: list[tuple[str, str]]


def verify_cache(delete_bad: bool = False,
                 expected_by_path: dict[Path, str] | None = None) -> CacheReport:
    """Re-hash every file under ``checkpoints/`` and ``urls/`` of the cache.

    A file is *ok* when its digest equals the one recorded at download time (and matches
    ``expected_by_path`` — the index hashes — when given), *bad* otherwise; files never
    recorded are checked against ``expected_by_path`` (and recorded if they match) or listed
    as *unverified*; ``.part`` files are *partial* downloads.
    """
    root = cache_dir()
    manifest = Manifest(root)
    records = manifest.load()
    expected_by_path = {manifest.key(p): h for p, h in (expected_by_path or {}).items()}
    report = CacheReport([], [], [], [], [])
    seen = set()
    files = sorted(p for sub in ("checkpoints", "urls") if (root / sub).is_dir()
                   for p in (root / sub).rglob("*") if p.is_file())
    for path in files:
        key = manifest.key(path)
        seen.add(key)
        if path.name.endswith(".part"):
            report.partial.append((path, f"{path.stat().st_size} bytes"))
            continue
        record = records.get(key)
        index_hash = expected_by_path.get(key)
        if record is None and index_hash is None:
            report.unverified.append((path, "not downloaded by the zoo and no known hash"))
            continue
        digest = sha256_file(path)
        problems = []
        if record is not None and digest != record["sha256"]:
            problems.append(f"sha256 {digest} != recorded {record['sha256']}")
        if index_hash is not None and not hash_matches(digest, index_hash):
            problems.append(f"sha256 {digest} does not match the index hash {index_hash}")
        if record is not None and record.get("pinned") and index_hash is None:
            problem = checkpoint_content_problem(path)  # a pin vouches for nothing else
            if problem:
                problems.append(f"pinned on first use, but {problem} (`zoo forget` it)")
        if problems:
            report.bad.append((path, "; ".join(problems)))
            if delete_bad:  # the manifest record stays: a pinned digest keeps being enforced
                path.unlink()
        else:
            if record is None:
                manifest.record(path, digest, None, index_hash)
            how = "pinned on first use" if record and record.get("pinned") else "verified"
            report.ok.append((path, f"{how}, sha256 {digest[:16]}…"))
    for key in sorted(set(records) - seen):
        report.missing.append((key, "recorded in the manifest but no longer in the cache"))
    return report
