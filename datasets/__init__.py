"""Datasets and pipelines (installed as ``zoo.datasets``); importing registers them."""
from zoo.imports import import_submodules

from . import (  # noqa: F401
    detection,
    image,
    medical,
    segmentation,
    skeleton,
    transforms,
    wsi,
)

import_submodules(__name__)  # new files register without an edit here
