"""A new module in a registering package is imported (and so registered) without an
``__init__`` edit (zoo.imports.import_submodules)."""
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_new_file_registers_without_init_edit(tmp_path, monkeypatch):
    pkg = tmp_path / "probe_pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent("""
        from mmengine.registry import Registry
        THINGS = Registry("probe thing")
        from zoo.imports import import_submodules
        imported = import_submodules(__name__, exclude=("heavy",))
    """))
    for rel, name in (("new_thing.py", "NewThing"), ("sub/__init__.py", "SubThing"),
                      ("heavy.py", "Heavy"), ("_private.py", "Private")):
        (pkg / rel).write_text(f"from probe_pkg import THINGS\n\n\n@THINGS.register_module()\n"
                               f"class {name}:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import probe_pkg

    try:
        assert sorted(probe_pkg.THINGS.module_dict) == ["NewThing", "SubThing"]
        assert probe_pkg.imported == ["probe_pkg.new_thing", "probe_pkg.sub"]
    finally:
        for name in [m for m in sys.modules if m.startswith("probe_pkg")]:
            del sys.modules[name]


def test_importing_the_families_imports_every_module():
    code = textwrap.dedent("""
        import pkgutil, sys
        import zoo.models, zoo.losses, zoo.datasets, zoo.converters
        missing = [m.name for pkg in (zoo.models, zoo.losses, zoo.datasets, zoo.converters)
                   for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")
                   if m.name not in sys.modules and not m.name.rsplit(".", 1)[-1].startswith("_")]
        print(missing)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_converter_lookup_imports_the_models_too():
    """A converter registered in a model file (``zoo.models.<field>.<name>``) is found by the
    hub: looking a converter up imports ``zoo.models`` (whose modules all register, see above)
    as well as ``zoo.converters``."""
    code = textwrap.dedent("""
        import sys
        from zoo.hub.api import get_converter
        assert "zoo.models" not in sys.modules
        fn = get_converter("convert_stgcn_official")
        print(fn.__name__, "zoo.models" in sys.modules, "zoo.models.skeleton.stgcn" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "convert_stgcn_official True True"
