"""Fixtures of the skeleton tests: the PYSKL / MMAction2 ST-GCN reference files."""
from __future__ import annotations

import lzma
from pathlib import Path

import pytest
import torch

STGCN_PYSKL_DIR = Path(__file__).resolve().parent / "fixtures" / "stgcn_pyskl"


@pytest.fixture(scope="session")
def stgcn_pyskl_reference(tmp_path_factory):
    """``load(name) -> (checkpoint_path, io)``: the xz-compressed upstream checkpoint is
    unpacked once into a temporary folder (a plain ``.pth`` as the real ones); ``io`` holds
    ``inputs`` ``[N, M, T, V, C]``, ``logits``, ``logits_float64`` and ``meta``."""
    folder = tmp_path_factory.mktemp("stgcn_pyskl")
    cache: dict[str, tuple[Path, dict]] = {}

    def load(name: str) -> tuple[Path, dict]:
        if name not in cache:
            path = folder / f"{name}.pth"
            path.write_bytes(lzma.decompress((STGCN_PYSKL_DIR / f"{name}.pth.xz").read_bytes()))
            io = torch.load(STGCN_PYSKL_DIR / f"{name}_io.pt", weights_only=True)
            cache[name] = (path, io)
        return cache[name]

    return load
