"""Datasets and pipelines (installed as ``zoo.datasets``); importing registers them."""
from . import (  # noqa: F401
    image,
    medical,
    segmentation,
    skeleton,
    transforms,
    wsi,
)
