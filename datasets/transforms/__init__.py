"""Data pipeline transforms (registered in ``zoo.registry.TRANSFORMS``)."""
from . import formatting, skeleton, skeleton_aug  # noqa: F401
