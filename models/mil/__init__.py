"""Multiple-instance learning for whole-slide images (registered in ``zoo.registry.MODELS``)."""
# MILMetric moved to the core evaluation package; re-exported for the old import path
from zoo.evaluation.mil import MILMetric  # noqa: F401

from . import abmil, base, comel, owlora  # noqa: F401
from .abmil import ABMIL, GatedAttentionPool  # noqa: F401
from .base import BagDataPreprocessor, BaseMIL  # noqa: F401
from .comel import CoMEL, GDATAttention, GDATBlock  # noqa: F401
from .owlora import OWLoRALinear, WeightedLoRA, convert_to_owlora  # noqa: F401
