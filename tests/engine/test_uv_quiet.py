"""`uv run` prints no "Bytecode compiled N files" (bytecode is compiled at install time)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_bytecode_is_compiled_at_install_not_on_every_run():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert not re.search(r"^\s*compile-bytecode\s*=\s*true", pyproject, re.MULTILINE)
    assert "uv sync --locked --compile-bytecode" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not on PATH")
def test_uv_run_is_quiet():
    env_file = ROOT / ".venv"
    if not env_file.is_dir():
        pytest.skip("no .venv in the checkout")
    done = subprocess.run(["uv", "run", "--locked", "python", "-c", "pass"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Bytecode compiled" not in done.stderr + done.stdout
