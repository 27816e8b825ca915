"""Public API of the pretrained hub (re-exported as ``zoo.list_models`` etc.).

``load_pretrained`` accepts an index name (or ``zoo://NAME``), a URL or a local path and
returns a flat state dict in the zoo's key names (the entry's converter is applied);
``build_model`` builds the entry's architecture from its mmengine config (or timm) and loads
the weights, re-initialising head weights whose shape differs (fine-tuning to a new label set).
Heavy imports (torch, mmengine, timm) happen inside the functions so ``import zoo`` stays fast.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from .download import (
    DownloadError,
    HashMismatchError,
    OfflineError,
    RetryPolicy,
    UnverifiedDownloadError,
    checkpoints_dir,
    fetch,
    forget_file,
    hash_from_filename,
    hash_matches,
    normalise_hash,
    sha256_file,
    trust_on_first_use_default,
    url_cache_path,
    verify_cached,
)
from .index import MODEL_INDEX, ModelEntry, get_entry, list_entries

if TYPE_CHECKING:
    import torch
    from torch import nn

REPO_ROOT = Path(__file__).resolve().parents[2]
ZOO_SCHEME = "zoo://"


class ManualDownloadError(DownloadError):
    """The source offers no direct download link: the user must place the file by hand."""


class ConverterUnavailableError(LookupError):
    """An index entry names a converter that :mod:`zoo.converters` does not provide."""


# --- index ---------------------------------------------------------------------------------

def list_models(pattern: str | None = None) -> list[str]:
    """Names of the pretrained checkpoints matching ``pattern`` (wildcards or substring)."""
    return [entry.name for entry in list_entries(pattern)]


def cache_path(name: str, safetensors: bool = False) -> Path:
    """Where the checkpoint of entry ``name`` lives in the cache."""
    entry = get_entry(name)
    return checkpoints_dir() / (entry.safetensors_filename if safetensors
                                else entry.cache_filename)


def model_info(name: str, card: bool = True) -> dict[str, Any]:
    """Everything the index knows about ``name`` plus its cache and availability status, and
    (``card=True``) its model card under ``'card'`` (:func:`zoo.hub.card.entry_card`: classes,
    input spec, pipeline, params, GFLOPs, metrics, licence, source, paper)."""
    entry = get_entry(name)
    info = entry.to_dict()
    path = cache_path(name)
    info["cache_path"] = str(path)
    info["cached"] = path.is_file()
    if entry.sha256 is None:
        info["hash_status"] = "none published (pass a sha256 or trust on first use)"
    elif len(entry.sha256) == 64:
        info["hash_status"] = "published sha256"
    else:
        info["hash_status"] = f"published sha256 prefix ({len(entry.sha256)} hex digits)"
    info["config_found"] = (_find_config(entry.config) is not None) if entry.config else None
    info["converter_available"] = (_converter_or_none(entry.converter) is not None
                                   if entry.converter else None)
    if card:
        from zoo.hub.card import entry_card

        info["card"] = entry_card(name)
    return info


# --- downloads -----------------------------------------------------------------------------

def _combine_hashes(published: str | None, given: str | None, name: str) -> str | None:
    if given is None:
        return published
    given = normalise_hash(given)
    if published is None:
        return given
    if not (given.startswith(published) or published.startswith(given)):
        raise ValueError(f"sha256 {given} contradicts the hash {published} that the index "
                         f"records for {name!r}")
    return max(given, published, key=len)


def download_model(name: str, *, sha256: str | None = None,
                   trust_on_first_use: bool | None = None, safetensors: bool = False,
                   policy: RetryPolicy | None = None, progress: bool | None = None) -> Path:
    """Fetch entry ``name`` into the cache (verified) and return its path.

    ``sha256`` supplies/extends the hash; ``trust_on_first_use`` accepts an entry whose source
    publishes no hash and pins the digest of this first download. ``safetensors`` picks the
    entry's safetensors copy.
    """
    entry = get_entry(name)
    if safetensors:
        if not entry.safetensors_url:
            raise ValueError(f"index entry {name!r} has no safetensors copy")
        urls, published = (entry.safetensors_url,), entry.safetensors_sha256
    else:
        urls, published = entry.urls, entry.sha256
    expected = _combine_hashes(published, sha256, name)
    tofu = trust_on_first_use_default() if trust_on_first_use is None else trust_on_first_use
    dest = cache_path(name, safetensors)
    if entry.manual and not safetensors:
        if not dest.is_file():
            raise ManualDownloadError(
                f"{name}: the source publishes it as {urls[0]} (a web page, not a direct "
                f"download). Download the checkpoint by hand and place it at {dest}"
                + ("" if expected else "; it has no published hash, so also pass sha256=... "
                   "or trust_on_first_use=True (`zoo download NAME --trust-on-first-use`)"))
        return verify_cached(dest, expected, url=urls[0], trust_on_first_use=tofu)
    errors, kinds = [], set()
    for url in urls:
        try:
            return fetch(url, dest, expected, trust_on_first_use=tofu, policy=policy,
                         progress=progress)
        except (HashMismatchError, UnverifiedDownloadError, OfflineError):
            raise
        except DownloadError as exc:  # another URL may serve the real file
            errors.append(str(exc))
            kinds.add(type(exc))
    error = kinds.pop() if len(kinds) == 1 else DownloadError
    raise error(f"{name}: every URL failed:\n  " + "\n  ".join(errors))


def forget_model(source: str) -> list[str]:
    """Clear what the cache holds for an index entry (both copies) or a URL: the files, a
    partial download and the manifest record, so a pinned digest no longer applies and the
    next download starts afresh (trust-on-first-use again asks for consent).

    Returns the removed items (empty when nothing was cached).
    """
    if source.startswith(ZOO_SCHEME):
        source = source[len(ZOO_SCHEME):]
    if urlparse(source).scheme in ("http", "https", "file"):
        return forget_file(url_cache_path(source))
    entry = get_entry(source)
    paths = [cache_path(entry.name)]
    if entry.safetensors_url:
        paths.append(cache_path(entry.name, safetensors=True))
    return [item for path in paths for item in forget_file(path)]


# --- converters ----------------------------------------------------------------------------

def _converter_or_none(name: str) -> Callable | None:
    from zoo.registry import CONVERTERS

    CONVERTERS.import_from_location()  # registers zoo.converters
    return CONVERTERS.get(name) if isinstance(name, str) else None


def get_converter(name: str, entry: str = "") -> Callable[[dict], dict]:
    """The converter registered as ``name`` in ``zoo.registry.CONVERTERS``
    (``state_dict -> state_dict``)."""
    fn = _converter_or_none(name)
    if fn is None:
        owner = f" (named by index entry {entry!r})" if entry else ""
        raise ConverterUnavailableError(
            f"converter {name!r}{owner} is not registered in zoo.registry.CONVERTERS "
            f"(registered: {_registered_converters()}); "
            "load_pretrained(..., convert=False) returns the upstream state dict unchanged")
    return fn


def _registered_converters() -> list[str]:
    from zoo.registry import CONVERTERS

    return sorted(CONVERTERS.module_dict)


# --- loading -------------------------------------------------------------------------------

def _resolve_source(source: str | os.PathLike) -> tuple[str, str]:
    if isinstance(source, os.PathLike):
        return "path", os.fspath(source)
    if source.startswith(ZOO_SCHEME):
        return "entry", source[len(ZOO_SCHEME):]
    if urlparse(source).scheme in ("http", "https", "file"):
        return "url", source
    if source in MODEL_INDEX:
        return "entry", source
    if Path(source).exists():
        return "path", source
    if os.sep in source or Path(source).suffix in (".pth", ".pt", ".bin", ".safetensors"):
        raise FileNotFoundError(f"checkpoint file {source} does not exist")
    get_entry(source)  # raises a KeyError with close names
    raise AssertionError("unreachable")


def load_pretrained(source: str | os.PathLike, *, sha256: str | None = None,
                    trust_on_first_use: bool | None = None, convert: bool = True,
                    safetensors: bool = False, map_location: Any = "cpu",
                    policy: RetryPolicy | None = None, progress: bool | None = None
                    ) -> dict[str, torch.Tensor]:
    """Return the state dict of an index entry, URL or local file.

    Args:
        source: index name, ``zoo://NAME``, http(s)/``file://`` URL, or a path.
        sha256: expected hash (full or prefix). For a URL without one, a hash embedded in the
            file name (``name-<hex>.pth``) is used.
        trust_on_first_use: accept a file with no known hash and pin its digest.
        convert: apply the entry's converter (upstream -> zoo key names).
        safetensors: use the entry's safetensors copy.
    """
    from .loading import load_state_dict_file

    kind, value = _resolve_source(source)
    if kind == "entry":
        entry = get_entry(value)
        path = download_model(entry.name, sha256=sha256,
                              trust_on_first_use=trust_on_first_use, safetensors=safetensors,
                              policy=policy, progress=progress)
        state = load_state_dict_file(path, map_location=map_location)
        if convert and entry.converter:
            state = get_converter(entry.converter, entry.name)(state)
        return state
    if kind == "url":
        expected = sha256 or hash_from_filename(value)
        path = fetch(value, url_cache_path(value), expected,
                     trust_on_first_use=trust_on_first_use, policy=policy, progress=progress)
        return load_state_dict_file(path, map_location=map_location)
    if sha256 is not None:
        digest = sha256_file(value)
        if not hash_matches(digest, sha256):
            raise HashMismatchError(f"{value}: sha256 {digest} does not match the expected "
                                    f"{normalise_hash(sha256)}")
    return load_state_dict_file(value, map_location=map_location)


def load_weights(model: nn.Module, state_dict: dict[str, torch.Tensor], *,
                 head_prefix: str = "cls_head", strict: bool = True,
                 source: str = "checkpoint") -> dict[str, list]:
    """Copy ``state_dict`` into ``model``; head tensors of another shape are left re-initialised.

    A shape mismatch outside ``head_prefix`` is an error; with ``strict`` so are missing or
    unexpected keys (``num_batches_tracked`` counters excepted, old checkpoints lack them).
    The dropped head keys are logged through mmengine's ``MMLogger``
    (:func:`zoo.checkpoint.load_state_dict_checked`).
    Returns ``{'loaded', 'reinitialised', 'missing', 'unexpected'}`` key lists.
    """
    from zoo.checkpoint import load_state_dict_checked

    report = load_state_dict_checked(model, state_dict, source=source, strict=strict,
                                     head_prefix=head_prefix)
    return {"loaded": sorted(report.loaded),
            "reinitialised": sorted(k for k, _, _ in report.reinitialised),
            "missing": report.missing, "unexpected": report.unexpected}


# --- building ------------------------------------------------------------------------------

def _find_config(path: str | os.PathLike) -> Path | None:
    candidate = Path(path)
    for option in ([candidate] if candidate.is_absolute()
                   else [Path.cwd() / candidate, REPO_ROOT / candidate]):
        if option.is_file():
            return option
    return None


def _set_num_classes(model_cfg: Any, num_classes: int, where: str) -> None:
    if "cls_head" in model_cfg and model_cfg["cls_head"] is not None:
        model_cfg["cls_head"]["num_classes"] = num_classes
    elif "num_classes" in model_cfg:
        model_cfg["num_classes"] = num_classes
    else:
        raise ValueError(f"{where}: the model config has neither cls_head.num_classes nor "
                         "num_classes to set")


def _build_architecture(entry: ModelEntry, num_classes: int | None, config: str | None,
                        cfg_options: dict | None) -> tuple[nn.Module, str]:
    if entry.arch is not None and config is None:
        library, _, arch = entry.arch.partition("/")
        if library != "timm":
            raise ValueError(f"index entry {entry.name!r}: unknown architecture source "
                             f"{entry.arch!r}")
        import timm

        model = timm.create_model(arch, pretrained=False,
                                  num_classes=num_classes or entry.num_classes)
        return model, model.pretrained_cfg.get("classifier") or entry.head
    cfg_file = config or entry.config
    if cfg_file is None:
        raise ValueError(f"index entry {entry.name!r} names no config: the zoo has no model for "
                         "this checkpoint yet; load_pretrained(name, convert=False) returns the "
                         "upstream weights")
    found = _find_config(cfg_file)
    if found is None:
        raise FileNotFoundError(f"config {cfg_file} of index entry {entry.name!r} does not exist "
                                f"(looked in {Path.cwd()} and {REPO_ROOT}); pass config=PATH")
    from zoo.apis.model import init_model, load_config_file

    cfg = load_config_file(found, cfg_options)  # top-level knobs reach the model too
    if "model" not in cfg:
        raise KeyError(f"{found}: the config defines no `model`")
    if num_classes is not None:
        _set_num_classes(cfg.model, num_classes, str(found))
    model = init_model(cfg).train()  # a hub model is for fine-tuning: train mode, as before
    if hasattr(model, "init_weights"):
        model.init_weights()
    return model, entry.head


def build_model(name: str, pretrained: bool = True, num_classes: int | None = None, *,
                config: str | None = None, cfg_options: dict | None = None, strict: bool = True,
                **load_kwargs: Any) -> nn.Module:
    """Build the model of index entry ``name`` and (optionally) load its pretrained weights.

    Args:
        name: index entry.
        pretrained: load the checkpoint (downloaded and verified as in :func:`download_model`).
        num_classes: classifier width; when it differs from the checkpoint's, the head is
            re-initialised and the dropped keys are logged.
        config: another config file than the entry's (e.g. a variant of it).
        cfg_options: ``Config.merge_from_dict`` overrides.
        strict: missing/unexpected keys (outside the head) are an error.
        **load_kwargs: forwarded to :func:`load_pretrained` (``sha256``,
            ``trust_on_first_use``, ``safetensors``, ``policy``, ``progress``).
    """
    entry = get_entry(name)
    model, head = _build_architecture(entry, num_classes, config, cfg_options)
    if pretrained:
        state = load_pretrained(entry.name, **load_kwargs)
        load_weights(model, state, head_prefix=head, strict=strict, source=entry.name)
    return model
