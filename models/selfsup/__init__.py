"""Self-supervised skeleton pre-training (MoCo, HiCLR, HaLP, SkeletonMAE) and linear
evaluation."""
from .halp import HaLP  # noqa: F401
from .hiclr import HiCLR  # noqa: F401
from .linear import LinearEvalRecognizer  # noqa: F401
from .mae import SkeletonMAE  # noqa: F401
from .moco import SkeletonMoCo  # noqa: F401
