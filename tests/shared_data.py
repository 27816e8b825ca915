"""Where the tests find ``../shared`` (real data and official reference outputs), and the one
policy for when it is absent: skip with the reason locally, fail under CI.

A test that needs a file from ``../shared`` asks :func:`require_shared` for it (the fixtures
``shared_dir``, ``msr_dir`` and ``reference_dir`` of ``tests/conftest.py`` do). ``VSZOO_SHARED``
points at another copy; by default it is the ``shared`` folder beside the checkout.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CI_TRUE = ("1", "true", "yes", "on")


def shared_root() -> Path:
    """``$VSZOO_SHARED`` if set, else ``../shared`` beside the repository."""
    override = os.environ.get("VSZOO_SHARED")
    return Path(override).expanduser() if override else REPO.parent / "shared"


def running_in_ci() -> bool:
    """``CI`` set to a true value (GitHub Actions, GitLab and most CI services set CI=true)."""
    return os.environ.get("CI", "").strip().lower() in CI_TRUE


def require_shared(path: Path, what: str) -> Path:
    """Return ``path`` if it exists; otherwise skip the test with the reason, or, under
    ``CI=true``, fail it: a CI run that silently skips every fidelity test proves nothing."""
    if path.exists():
        return path
    reason = f"{path} is absent: {what} are not available"
    if running_in_ci():
        pytest.fail(f"{reason}, and CI is set: provide ../shared (or VSZOO_SHARED) instead of "
                    f"skipping the tests that need it", pytrace=False)
    pytest.skip(reason)


def assert_close_to_scale(actual, expected, rel: float, msg: str = "") -> None:
    """``|actual - expected| <= rel * max|expected|`` elementwise: a tolerance relative to the
    scale of the reference output, so it means the same for logits of 0.3 or of 1e7."""
    import torch

    scale = expected.abs().max()
    torch.testing.assert_close(actual / scale, expected.to(actual.dtype) / scale, atol=rel,
                               rtol=0, msg=msg or None)
