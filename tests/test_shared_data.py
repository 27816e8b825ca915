"""The ../shared policy: tests that need it skip when it is absent, and fail under CI=true."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from shared_data import REPO, require_shared, shared_root


@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_missing_shared_path_skips_outside_ci(tmp_path, monkeypatch, ci):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="missing is absent: the data"):
        require_shared(tmp_path / "missing", "the data")


@pytest.mark.parametrize("ci", ["true", "True", "1", "yes"])
def test_missing_shared_path_fails_under_ci(tmp_path, monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="missing is absent: the data .* CI is set"):
        require_shared(tmp_path / "missing", "the data")


def test_present_path_is_returned_under_ci(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert require_shared(tmp_path, "the data") == tmp_path


def test_vszoo_shared_overrides_the_location(tmp_path, monkeypatch):
    monkeypatch.setenv("VSZOO_SHARED", str(tmp_path))
    assert shared_root() == tmp_path
    monkeypatch.delenv("VSZOO_SHARED")
    assert shared_root() == REPO.parent / "shared"


# a real test that needs ../shared (official ST-GCN adjacency)
REAL_TEST = "tests/foundation/test_graph.py::test_stgcn_spatial_partition_equals_official_adjacency"


def test_a_fidelity_test_fails_under_ci_when_shared_is_absent(tmp_path):
    """End to end through pytest, as CI runs it (the skip outside CI is covered above)."""
    env = dict(os.environ, CI="true", VSZOO_SHARED=str(tmp_path / "no_shared_here"))
    out = subprocess.run([sys.executable, "-m", "pytest", REAL_TEST, "-q", "-p",
                          "no:cacheprovider"], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 1, out.stdout[-2000:]
    assert "1 error" in out.stdout and "no_shared_here is absent" in out.stdout
    assert "CI is set" in out.stdout
