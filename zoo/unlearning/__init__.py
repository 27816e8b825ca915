"""Machine unlearning: forget classes or samples from a trained zoo model and measure it.

Unlearners are registered in ``zoo.registry.UNLEARNERS``: ``Retrain`` (reference),
``FineTune``, ``NegGradPlus``, ``RandomLabel``, ``SSD``, ``SCRUB``, ``GSLoRA``,
``GradientAscent``, ``L1Sparse``, ``SalUn``, ``BadTeacher``, ``UNSIR``; gradient
unlearners take ``projection=...`` (geometric-disentanglement projection, see
:mod:`zoo.unlearning.projection`). ``tools/unlearn.py`` is the command-line entry point.
"""
from zoo.unlearning.bad_teacher import BadTeacher
from zoo.unlearning.base import BaseUnlearner, GradientUnlearner
from zoo.unlearning.context import UnlearnContext, build_context
from zoo.unlearning.finetune import FineTune
from zoo.unlearning.gradient_ascent import GradientAscent
from zoo.unlearning.gs_lora import GSLoRA
from zoo.unlearning.l1_sparse import L1Sparse
from zoo.unlearning.neggrad import NegGradPlus
from zoo.unlearning.projection import RetainGradientProjector
from zoo.unlearning.random_label import RandomLabel
from zoo.unlearning.requests import ForgetRequest, ForgetRequestError
from zoo.unlearning.retrain import Retrain
from zoo.unlearning.salun import SalUn
from zoo.unlearning.scrub import SCRUB
from zoo.unlearning.ssd import SSD
from zoo.unlearning.unsir import UNSIR

__all__ = [
    "BaseUnlearner", "GradientUnlearner", "UnlearnContext", "build_context", "FineTune",
    "GSLoRA", "NegGradPlus", "RetainGradientProjector", "RandomLabel", "ForgetRequest",
    "ForgetRequestError", "Retrain", "SCRUB", "SSD", "BadTeacher", "GradientAscent",
    "L1Sparse", "SalUn", "UNSIR",
]

from zoo.imports import import_submodules

import_submodules(__name__, exclude=("api", "report"))  # new files register without an edit here
