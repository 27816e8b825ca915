"""Datasets and pipelines (installed as ``zoo.datasets``); importing registers them."""
from . import image, skeleton, transforms  # noqa: F401
