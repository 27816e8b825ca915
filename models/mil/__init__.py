"""Multiple-instance learning for whole-slide images (registered in ``zoo.registry.MODELS``)."""
from . import abmil, base, comel, metrics, owlora  # noqa: F401  # noqa: F401
from .abmil import ABMIL, GatedAttentionPool  # noqa: F401
from .base import BagDataPreprocessor, BaseMIL  # noqa: F401
from .comel import CoMEL, GDATAttention, GDATBlock  # noqa: F401
from .metrics import MILMetric  # noqa: F401
from .owlora import OWLoRALinear, WeightedLoRA, convert_to_owlora  # noqa: F401
