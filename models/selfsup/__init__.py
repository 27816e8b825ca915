"""Self-supervised skeleton pre-training (HiCLR, SkeletonMAE) and linear evaluation."""
from .hiclr import HiCLR  # noqa: F401
from .linear import LinearEvalRecognizer  # noqa: F401
from .mae import SkeletonMAE  # noqa: F401
