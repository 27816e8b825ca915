"""Shared pytest fixtures."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the checkout (real data and official references), else skip."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: real data and official references are not available")
    return SHARED


@pytest.fixture(scope="session")
def msr_dir(shared_dir: Path) -> Path:
    path = shared_dir / "data" / "msr_action3d"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="session")
def reference_dir(shared_dir: Path) -> Path:
    path = shared_dir / "reference"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path
