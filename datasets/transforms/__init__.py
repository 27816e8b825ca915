"""Data pipeline transforms (registered in ``zoo.registry.TRANSFORMS``)."""
from . import formatting, skeleton  # noqa: F401
