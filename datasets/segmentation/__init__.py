"""Segmentation data: generated brick walls, image + mask folders, transforms."""
from . import datasets, transforms  # noqa: F401
from .datasets import BrickWalls, ImageMaskFolder  # noqa: F401
from .structures import SegDataSample  # noqa: F401
