"""Datasets and pipelines (installed as ``zoo.datasets``); importing registers them."""
from . import (  # noqa: F401
    detection,
    image,
    medical,
    segmentation,
    skeleton,
    superclass,
    transforms,
    wsi,
)
