"""Architectures (installed as ``zoo.models``); importing registers them."""
from zoo.imports import import_submodules

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

import_submodules(__name__)  # new files register without an edit here
