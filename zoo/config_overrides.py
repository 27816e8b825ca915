"""``--cfg-options`` that reach the places a config's top-level knobs were copied into.

An mmengine Python config is executed when it is read: ``data_root=data_root`` inside a
dataloader dict stores the *value* of the top-level variable, so a later
``--cfg-options data_root=DIR`` would change only the top-level key and silently leave every
dataloader on the old path. :func:`apply_cfg_options` merges the options and then replaces,
for each top-level knob of :data:`KNOBS` that the user set, the values that came from the
file's value of that variable (same value, in a key of the knob's kind), or refuses the
override with an error that names the keys to set instead.
"""
from __future__ import annotations

import copy
import os
import os.path as osp
from typing import Any

from mmengine.config import Config

# Knob -> names of the keys its value is copied into (None: any key; data_root values are
# also used as the prefix of longer paths, e.g. ``feature_dir=data_root + "/features"``).
KNOBS: dict[str, frozenset[str] | None] = {
    "data_root": None,
    "layout": frozenset({"layout"}),
    "clip_len": frozenset({"clip_len", "num_frames"}),
    "num_classes": frozenset({"num_classes"}),
    "stream": frozenset({"feats"}),  # skeleton input stream: ['j'], ['b'], ['jm'], ['bm']
}


class ConfigOverrideError(ValueError):
    """A top-level override would not reach the keys that use it."""


def describe_path(path: str | os.PathLike) -> str:
    """``'rel' (relative to the working directory CWD: ABS)`` for a relative path, else it."""
    text = os.fspath(path)
    if osp.isabs(text):
        return repr(text)
    return f"{text!r} (relative to the working directory {os.getcwd()}: {osp.abspath(text)})"


def _replace(old: Any, new: Any, knob: str, key: str | None, value: Any) -> tuple[bool, Any]:
    """Whether ``value`` (under ``key``) came from the knob's old value, and its new value."""
    keys = KNOBS[knob]
    if keys is not None and key not in keys:
        return False, value
    if type(value) is not type(old) or isinstance(value, bool):
        return False, value
    if value == old:
        return True, copy.deepcopy(new)
    if knob == "data_root" and isinstance(value, str) and isinstance(new, str) and old \
            and value.startswith(old.rstrip("/") + "/"):
        return True, new.rstrip("/") + value[len(old.rstrip("/")):]
    return False, value


def _walk(node: Any, path: str, visit, seen: set[int]) -> Any:
    """Apply ``visit(path, key, value) -> value`` to the leaves of dicts / lists, in place."""
    if isinstance(node, (dict, list, tuple)):
        if id(node) in seen:
            return node
        seen.add(id(node))
    if isinstance(node, dict):
        for key in list(node):
            child = f"{path}.{key}" if path else str(key)
            value = node[key]
            if isinstance(value, (list, tuple)):
                # a list-valued knob (stream=['b']) matches the whole list under its key
                whole = visit(child, str(key), value)
                node[key] = whole if whole is not value else _walk(value, child, visit, seen)
            elif isinstance(value, dict):
                node[key] = _walk(value, child, visit, seen)
            else:
                node[key] = visit(child, str(key), value)
        return node
    if isinstance(node, (list, tuple)):
        items = []
        for i, value in enumerate(node):
            child = f"{path}.{i}"
            if isinstance(value, (dict, list, tuple)):
                items.append(_walk(value, child, visit, seen))
            else:
                items.append(visit(child, _parent_key(path), value))
        if isinstance(node, list):
            node[:] = items
            return node
        return type(node)(items)
    return node


def _parent_key(path: str) -> str:
    """The dict key a list hangs under (``model.foo.3`` -> ``foo``)."""
    parts = [p for p in path.split(".") if not p.isdigit()]
    return parts[-1] if parts else ""


def _candidates(cfg_dict: dict, knob: str, skip: str) -> list[str]:
    """Dotted paths of keys of the knob's kind (where the user could set the value)."""
    keys = KNOBS[knob] or frozenset({knob, "feature_dir", "label_csv", "ann_file"})
    found: list[str] = []

    def visit(path: str, key: str, value: Any) -> Any:
        if key in keys and path != skip and not path[:1].isdigit():
            found.append(path)
        return value

    _walk(cfg_dict, "", visit, set())
    return found


def apply_cfg_options(cfg: Config, cfg_options: dict | None, source: str = "config") -> list[str]:
    """Merge ``cfg_options`` into ``cfg`` and propagate the top-level knobs the user set.

    For each knob of :data:`KNOBS` in ``cfg_options`` (e.g. ``data_root=DIR``), every value
    elsewhere in the config that equals the file's value of that top-level variable (in a key
    of the knob's kind, e.g. ``clip_len``/``num_frames``) is replaced by the new value; keys
    the user set explicitly in the same options are left as given. Returns the dotted paths
    that were changed.

    Raises :class:`ConfigOverrideError` naming the keys to set instead when the config has no
    such top-level variable, or nothing uses its value.
    """
    if not cfg_options:
        return []
    knobs = [k for k in cfg_options if k in KNOBS]
    before = {k: cfg.get(k) for k in knobs}
    cfg.merge_from_dict(cfg_options)
    explicit = [k for k in cfg_options if k not in KNOBS]
    changed: list[str] = []
    for knob in knobs:
        old, new = before[knob], cfg.get(knob)
        hits: list[str] = []

        def visit(path: str, key: str, value: Any, knob=knob, old=old, new=new,
                  hits=hits) -> Any:
            if path == knob or any(path == e or path.startswith(e + ".") for e in explicit):
                return value
            used, value2 = _replace(old, new, knob, key, value)
            if used:
                hits.append(path)
            return value2

        if old is not None:
            _walk(cfg._cfg_dict, "", visit, set())
        if not hits:
            where = _candidates(cfg._cfg_dict, knob, knob)
            why = (f"{source} defines no top-level `{knob}`" if old is None else
                   f"no key of {source} uses the value {old!r} of its top-level `{knob}`")
            hint = ("set the keys that use it instead, e.g. "
                    + " ".join(f"{p}=..." for p in where[:6]) if where else
                    f"the config has no key of that kind ({knob} is not used by this config)")
            raise ConfigOverrideError(f"--cfg-options {knob}={new!r} would change nothing: "
                                      f"{why}; {hint}")
        changed += hits
    return changed
