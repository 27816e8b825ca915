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


@pytest.fixture(scope="session")
def attention_kernel():
    """``zoo.ops.small_head_attention`` with its compiled kernel built; skipped without a C++
    compiler, failed without one under CI=true (a skip there would hide a failure)."""
    import os

    from zoo.ops import small_head_attention

    if not small_head_attention.available():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("the small-head attention kernel did not compile under CI")
        pytest.skip("no C++ compiler: the small-head attention kernel cannot be built here")
    return small_head_attention


@pytest.fixture(autouse=True)
def _forget_run_loggers():
    """mmengine names a run's logger ``<config>_<timestamp>`` and hands back an existing
    logger of that name: two in-process runs started within one second (tests calling
    tools/train.py's main) would share the first run's log file. Drop the loggers a test
    created, with their file handlers, when it ends."""
    from mmengine.logging import MMLogger

    before = set(MMLogger._instance_dict)
    yield
    for name in set(MMLogger._instance_dict) - before:
        logger = MMLogger._instance_dict.pop(name)
        for handler in list(logger.handlers):
            if hasattr(handler, "baseFilename"):  # file handlers only; the console stays
                handler.close()
                logger.removeHandler(handler)
