"""Check a config before the runner builds it: every ``type`` must be registered.

mmengine reports an unknown type deep inside the build; this names the config key
(``model.backbone.type``), the unknown value, and the closest registered names.
"""
from __future__ import annotations

import ast
import difflib
import os
from pathlib import Path
from typing import Any

from mmengine.config import Config
from mmengine.registry import DefaultScope, Registry

from zoo import registry as zoo_registry


class ConfigError(KeyError):
    """A config names something the zoo cannot build, or lacks a required key."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0])


_SECTIONS = {
    "model": zoo_registry.MODELS,
    "train_dataloader.dataset": zoo_registry.DATASETS,
    "val_dataloader.dataset": zoo_registry.DATASETS,
    "test_dataloader.dataset": zoo_registry.DATASETS,
    "val_evaluator": zoo_registry.METRICS,
    "test_evaluator": zoo_registry.METRICS,
}


def read_config(path: str | os.PathLike) -> Config:
    """``Config.fromfile(path)``; a missing file or a syntax error names the file and line.

    mmengine parses a file once before its own check that names it, so a syntax error there
    reads ``<unknown>, line 1``; the file and its ``_base_`` files are parsed here to name it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    _check_syntax(path, set())
    return Config.fromfile(str(path))


def _check_syntax(path: Path, seen: set[Path]) -> None:
    if path.suffix != ".py" or path in seen or not path.is_file():
        return
    seen.add(path)
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        raise SyntaxError(f"{path}, line {exc.lineno}: the config is not valid Python "
                          f"({exc.msg}): {(exc.text or '').strip()}") from None
    for node in tree.body:  # _base_ = 'x.py' or ['x.py', ...], relative to this file
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "_base_"):
            try:
                bases = ast.literal_eval(node.value)
            except ValueError:
                return
            for base in [bases] if isinstance(bases, str) else list(bases):
                if isinstance(base, str):
                    _check_syntax((path.parent / base).resolve(), seen)


def _known(registry: Registry) -> set[str]:
    registry.import_from_location()
    names: set[str] = set()
    reg: Registry | None = registry
    while reg is not None:
        names.update(reg.module_dict)
        reg = reg.parent
    return names


def _check_types(node: Any, path: str, registry: Registry, problems: list[str]) -> None:
    if isinstance(node, dict):
        kind = node.get("type")
        if isinstance(kind, str) and "." not in kind.split("::")[-1]:
            name = kind.split("::")[-1]
            known = _known(registry)
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                problems.append(f"{path}.type: {kind!r} is not a registered "
                                f"{registry.name}{hint}")
        for key, value in node.items():
            if key in ("type", "init_cfg"):
                continue
            sub_registry = zoo_registry.TRANSFORMS if key == "pipeline" else registry
            _check_types(value, f"{path}.{key}", sub_registry, problems)
    elif isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            _check_types(item, f"{path}[{i}]", registry, problems)


def check_config(cfg: Any, required: tuple[str, ...] = ("model",)) -> None:
    """Raise :class:`ConfigError` listing every missing key and unknown ``type``."""
    problems = [f"missing required key {key!r}" for key in required if key not in cfg]
    with DefaultScope.overwrite_default_scope("zoo"):
        for section, registry in _SECTIONS.items():
            node: Any = cfg.to_dict() if hasattr(cfg, "to_dict") else cfg
            for part in section.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if node is not None:
                _check_types(node, section, registry, problems)
    if problems:
        source = getattr(cfg, "filename", None) or "config"
        raise ConfigError(f"{source}: " + "; ".join(problems))
