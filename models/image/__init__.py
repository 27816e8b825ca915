"""Image backbones."""
from .small_cnn import SmallCNN  # noqa: F401
