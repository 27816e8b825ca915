"""Whole-slide images: OpenSlide tiling, feature files, bag data sets, synthetic test slides."""
from . import bags  # noqa: F401
from .bags import WSIBagDataset  # noqa: F401
