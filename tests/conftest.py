"""Shared pytest fixtures."""
from __future__ import annotations

from pathlib import Path

import pytest
from shared_data import require_shared, shared_root


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the checkout (real data and official references); skipped when
    absent, failed when absent under CI=true (:func:`shared_data.require_shared`)."""
    return require_shared(shared_root(), "real data and official references")


@pytest.fixture(scope="session")
def msr_dir(shared_dir: Path) -> Path:
    return require_shared(shared_dir / "data" / "msr_action3d", "the MSR Action3D skeletons")


@pytest.fixture(scope="session")
def reference_dir(shared_dir: Path) -> Path:
    return require_shared(shared_dir / "reference", "the official reference outputs")
