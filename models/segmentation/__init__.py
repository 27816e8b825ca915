"""Dense segmentation models (MONAI networks behind mmengine's BaseModel)."""
from . import networks, segmentor  # noqa: F401
from .segmentor import SegDataPreprocessor, Segmentor  # noqa: F401
