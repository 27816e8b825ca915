"""``zoo://NAME`` checkpoints for mmengine: ``load_from = 'zoo://ctrgcn_ntu60_xsub_joint'``.

Importing this module registers the prefix with mmengine's ``CheckpointLoader``; the loader
downloads and verifies the entry (:func:`zoo.hub.api.download_model`), reads it safely and applies
the entry's converter, so mmengine receives weights in the zoo's key names. Entries without a
published hash need ``zoo download NAME --sha256 ...``/``--trust-on-first-use`` beforehand (the
pinned digest is then enforced) or ``VSZOO_TRUST_ON_FIRST_USE=1``.
"""
from __future__ import annotations

from typing import Any

from mmengine.runner.checkpoint import CheckpointLoader

from .api import ZOO_SCHEME, load_pretrained


def load_from_zoo(filename: str, map_location: Any = None) -> dict[str, Any]:
    """mmengine checkpoint loader for ``zoo://NAME``: ``{'state_dict': ..., 'meta': ...}``."""
    name = filename[len(ZOO_SCHEME):]
    state = load_pretrained(name, map_location=map_location or "cpu")
    return {"state_dict": state, "meta": {"zoo_entry": name}}


def register_zoo_scheme() -> None:
    """(Re-)register the ``zoo://`` prefix; safe to call more than once."""
    CheckpointLoader.register_scheme(prefixes=ZOO_SCHEME, loader=load_from_zoo, force=True)


register_zoo_scheme()
