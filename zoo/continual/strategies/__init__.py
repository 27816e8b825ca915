"""Continual-learning strategies (registered in ``zoo.registry.STRATEGIES``), one module per
family."""
from zoo.imports import import_submodules

from .base import Strategy  # noqa: F401
from .baselines import FineTune, Joint  # noqa: F401
from .clr import CLR  # noqa: F401
from .der import DERPP  # noqa: F401
from .ewc import EWC  # noqa: F401
from .fpf import KFPF  # noqa: F401
from .icarl import ICaRL  # noqa: F401
from .lwf import LwF  # noqa: F401
from .mil import MILFineTune, MILReplay, OWLoRA  # noqa: F401
from .pcr import HPCR, PCR  # noqa: F401
from .prd import PRD  # noqa: F401
from .replay import ER  # noqa: F401

import_submodules(__name__)  # new files register without an edit here
