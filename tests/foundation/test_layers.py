"""Imports point down the layers of DESIGN.md, and importing core modules changes nothing.

Layer 1 is core ``zoo/``: every module under ``zoo/`` that is not listed in ``NOT_CORE`` below
(so a new file is core unless declared otherwise), e.g. ``registry.py``, ``structures.py``,
``checkpoint.py``, ``imports.py``, ``config_check.py``, ``visualization.py``, ``zoo/evaluation/``
and ``zoo/engine/``. Layer 2 is the families (``zoo.models``, ``zoo.losses``,
``zoo.datasets``). Layer 3 is the wrappers and services in ``zoo/`` (continual, unlearning,
attacks, hub with its converters, ``zoo.apis``, the CT measurements in ``zoo.medical``, pose
estimation, export); ``cli.py`` and ``runner_utils.py`` (the tools' shared set-up) sit with the
tools in layer 4; ``zoo/__init__.py`` is the facade that forwards ``zoo.build_model`` etc. to
the hub lazily. Core may import neither the families nor layers 3-4 (also not lazily inside a
function); registries name the families only as strings in ``locations``.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FAMILIES = ("zoo.models", "zoo.losses", "zoo.datasets")
# layers 3 and 4 inside zoo/ (packages or modules, relative to zoo/); everything else is core
NOT_CORE = ("__init__.py", "continual", "unlearning", "attacks", "hub", "converters", "apis",
            "medical", "pose", "deploy", "skeleton_vis.py", "cli.py",
            "runner_utils.py")
WRAPPERS = tuple("zoo." + name.removesuffix(".py") for name in NOT_CORE
                 if name != "__init__.py")


def core_files() -> list[Path]:
    zoo = REPO / "zoo"
    return sorted(p for p in zoo.rglob("*.py")
                  if p.relative_to(zoo).parts[0] not in NOT_CORE)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(path: Path, module: str | None = None) -> list[tuple[int, str]]:
    """Every module the file imports (absolute names; relative imports resolved), anywhere
    in the file, plus ``import_module('...')`` calls with a literal name."""
    tree = ast.parse(path.read_text(), str(path))
    package = (module or module_name(path)).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(
                node.func, "id", None)) == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant)):
            found.append((node.lineno, str(node.args[0].value)))
    return found


def upward_imports(path: Path, module: str | None = None) -> list[str]:
    bad = []
    for line, name in imported_modules(path, module):
        for banned in FAMILIES + WRAPPERS:
            if name == banned or name.startswith(banned + "."):
                where = path.relative_to(REPO) if path.is_relative_to(REPO) else path.name
                bad.append(f"{where}:{line} imports {name}")
                break
    return bad


def test_core_list_matches_the_tree():
    names = {module_name(p) for p in core_files()}
    assert {"zoo.registry", "zoo.structures", "zoo.evaluation.mil",
            "zoo.engine.atomic_io", "zoo.engine.optim", "zoo.engine.det_visualization"} <= names


def test_core_imports_no_family_and_no_wrapper():
    bad = [b for path in core_files() for b in upward_imports(path)]
    assert not bad, "core zoo/ imports upwards:\n" + "\n".join(bad)


def test_the_scan_sees_relative_lazy_and_dynamic_imports(tmp_path):
    """The checker itself: it must flag each form of an upward import."""
    probe = tmp_path / "probe.py"
    probe.write_text("import importlib\n"
                     "def f():\n    from ..models import classifiers\n"
                     "def g():\n    import zoo.losses.topology\n"
                     "importlib.import_module('zoo.datasets.wsi')\n"
                     "from zoo import continual\n")
    bad = upward_imports(probe, module="zoo.engine.probe")
    assert sorted(b.split(" imports ")[1] for b in bad) == [
        "zoo.continual", "zoo.datasets.wsi", "zoo.losses.topology", "zoo.models",
        "zoo.models.classifiers"]
    clean = tmp_path / "clean.py"
    clean.write_text("from zoo.registry import MODELS\nfrom .hooks import EpochSeedHook\n")
    assert upward_imports(clean, module="zoo.engine.clean") == []


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.parametrize("module", ["zoo.engine", "zoo.engine.atomic_io", "zoo.evaluation"])
def test_importing_core_changes_no_file_backend(module):
    code = ("import importlib\nfrom mmengine.fileio.backends import backends, prefix_to_backends"
            "\nbefore = (backends['local'], prefix_to_backends[''])\n"
            f"importlib.import_module({module!r})\n"
            "print(before == (backends['local'], prefix_to_backends['']))")
    assert _run(code) == "True"


def test_load_config_installs_the_atomic_backend():
    code = ("from mmengine.fileio.backends import backends, prefix_to_backends\n"
            "from zoo.engine.atomic_io import AtomicLocalBackend\n"
            "from zoo.runner_utils import load_config\n"
            "assert backends['local'] is not AtomicLocalBackend\n"
            "load_config('configs/image/smallcnn_digits.py', work_dir='/tmp/unused')\n"
            "print(backends['local'] is AtomicLocalBackend, "
            "prefix_to_backends[''] is AtomicLocalBackend)")
    assert _run(code) == "True True"
