"""Import every module of a package, so that a new file registers itself without an
``__init__`` edit.

A package whose modules register classes (``@MODELS.register_module()`` and the like) calls
:func:`import_submodules` at the end of its ``__init__``: the registry's ``locations`` import the
package, the package imports all of its modules, and a type defined in a new file is found by
name from a config. ``__init__`` imports are then only for public names
(``from zoo.models.skeleton import CTRGCN``).
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Iterable


def import_submodules(package: str, exclude: Iterable[str] = ()) -> list[str]:
    """Import every module and sub-package below ``package`` (recursively, in name order),
    except those whose name relative to ``package`` is in ``exclude`` (excluded sub-packages
    are not entered) or whose last part starts with ``_``; returns the module names below
    ``package`` that are now imported."""
    skip = {f"{package}.{name}" for name in exclude}
    done = []

    def visit(name: str) -> None:
        module = sys.modules[name]
        for info in sorted(pkgutil.iter_modules(getattr(module, "__path__", [])),
                           key=lambda i: i.name):
            child = f"{name}.{info.name}"
            if info.name.startswith("_") or child in skip:
                continue
            importlib.import_module(child)
            done.append(child)
            if info.ispkg:
                visit(child)

    visit(package)
    return done
