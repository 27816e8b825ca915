"""Check a config before the runner builds it: every ``type`` must be registered.

mmengine reports an unknown type deep inside the build (an optimizer typo ends in ``None is
not a callable object``); this names the config key (``model.backbone.type``,
``optim_wrapper.optimizer.type``), the unknown value, and the closest registered names.
Checked: the model, data sets and their pipelines, evaluators, ``optim_wrapper`` (wrapper,
optimizer, constructor), ``param_scheduler``, ``default_hooks``, ``custom_hooks``, the loops
(``train_cfg`` / ``val_cfg`` / ``test_cfg``: type and argument names) and the continual
loop's ``strategy`` (type and arguments) and ``scenario`` (arguments).
"""
from __future__ import annotations

import ast
import difflib
import inspect
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


def _registry(name: str) -> Registry:
    """The zoo's child registry ``name`` when it has one, else mmengine's root registry."""
    import mmengine.registry as mmengine_registry

    return getattr(zoo_registry, name, None) or getattr(mmengine_registry, name)


def _check_type(node: Any, path: str, registry: Registry, problems: list[str],
                default: str | None = None) -> type | None:
    """Check ``node['type']`` (only this level); returns the class when it is found."""
    if not isinstance(node, dict):
        return None
    kind = node.get("type", default)
    if isinstance(kind, type):
        return kind
    if not isinstance(kind, str):
        return None
    name = kind.split("::")[-1]
    if "." in name:  # 'mmengine.X' / 'zoo.X': scoped names are resolved by mmengine
        return None
    known = _known(registry)
    if name not in known:
        close = difflib.get_close_matches(name, sorted(known), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        problems.append(f"{path}.type: {kind!r} is not a registered {registry.name}{hint}")
        return None
    return registry.get(name)


def _check_arguments(cls: Any, node: dict, path: str, problems: list[str],
                     passed: tuple[str, ...] = ()) -> None:
    """Name the keys of ``node`` that ``cls`` takes no argument for (``passed``: supplied by
    the builder). Classes that accept ``**kwargs`` are not checked."""
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    accepted = set(params) - set(passed)
    for key in node:
        if key in ("type", "_scope_") or key in accepted:
            continue
        close = difflib.get_close_matches(key, sorted(accepted), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        problems.append(f"{path}.{key}: {getattr(cls, '__name__', cls)} takes no argument "
                        f"{key!r}{hint}")


def _as_list(node: Any) -> list:
    return list(node) if isinstance(node, (list, tuple)) else [node]


def _check_runner_sections(cfg: dict, problems: list[str]) -> None:
    optim = cfg.get("optim_wrapper")
    if isinstance(optim, dict):
        _check_type(optim, "optim_wrapper", _registry("OPTIM_WRAPPERS"), problems,
                    default="OptimWrapper")
        _check_type(optim.get("optimizer"), "optim_wrapper.optimizer",
                    _registry("OPTIMIZERS"), problems)
        constructor = optim.get("constructor")
        if isinstance(constructor, str):
            _check_type({"type": constructor}, "optim_wrapper.constructor",
                        _registry("OPTIM_WRAPPER_CONSTRUCTORS"), problems)
    schedulers = cfg.get("param_scheduler")
    if schedulers is not None:
        many = isinstance(schedulers, (list, tuple))
        for i, item in enumerate(_as_list(schedulers)):
            _check_type(item, f"param_scheduler[{i}]" if many else "param_scheduler",
                        _registry("PARAM_SCHEDULERS"), problems)
    for i, hook in enumerate(_as_list(cfg.get("custom_hooks") or [])):
        _check_type(hook, f"custom_hooks[{i}]", zoo_registry.HOOKS, problems)
    for name, hook in (cfg.get("default_hooks") or {}).items():
        _check_type(hook, f"default_hooks.{name}", zoo_registry.HOOKS, problems)
    for section in ("train_cfg", "val_cfg", "test_cfg"):
        loop = cfg.get(section)
        if not isinstance(loop, dict) or "type" not in loop:
            continue
        cls = _check_type(loop, section, zoo_registry.LOOPS, problems)
        if cls is not None:
            _check_arguments(cls, loop, section, problems, passed=("runner", "dataloader"))
            # a loop that builds objects from nested dicts checks them itself (the continual
            # loop: its scenario), so core needs no import of the wrapper that knows them
            nested = getattr(cls, "check_nested_arguments", None)
            if nested is not None:
                problems += nested(loop, section)
    train = cfg.get("train_cfg")
    if isinstance(train, dict):
        strategy = train.get("strategy")
        cls = _check_type(strategy, "train_cfg.strategy", zoo_registry.STRATEGIES, problems)
        if cls is not None:
            _check_arguments(cls, strategy, "train_cfg.strategy", problems)


def argument_problems(cls: Any, node: dict, path: str, passed: tuple[str, ...] = ()
                      ) -> list[str]:
    """The keys of config ``node`` (at ``path``) that ``cls`` takes no argument for, each named
    with the closest accepted one (``passed``: arguments the builder supplies itself)."""
    problems: list[str] = []
    _check_arguments(cls, node, path, problems, passed)
    return problems


def check_config(cfg: Any, required: tuple[str, ...] = ("model",)) -> None:
    """Raise :class:`ConfigError` listing every missing key, unknown ``type`` and unknown
    argument of the loops, strategies and scenarios."""
    problems = [f"missing required key {key!r}" for key in required if key not in cfg]
    with DefaultScope.overwrite_default_scope("zoo"):
        for section, registry in _SECTIONS.items():
            node: Any = cfg.to_dict() if hasattr(cfg, "to_dict") else cfg
            for part in section.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if node is not None:
                _check_types(node, section, registry, problems)
        _check_runner_sections(cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg),
                               problems)
    if problems:
        source = getattr(cfg, "filename", None) or "config"
        raise ConfigError(f"{source}: " + "; ".join(problems))
