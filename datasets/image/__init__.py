"""Image classification data sets."""
from .digits import Digits  # noqa: F401
