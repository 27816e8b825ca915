"""Architectures (installed as ``zoo.models``); importing registers them."""
from . import (  # noqa: F401
    classifiers,
    detection,
    heads,
    image,
    medical,
    mil,
    segmentation,
    selfsup,
    skeleton,
)
