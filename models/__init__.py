"""Architectures (installed as ``zoo.models``); importing registers them."""
from . import classifiers, heads, image, skeleton  # noqa: F401
