"""Losses (installed as ``zoo.losses``); importing registers them in ``MODELS``."""
from zoo.imports import import_submodules

from . import cldice, contrastive, dice_ce, reconstruction, skeleton_recall, soft_skeleton  # noqa: F401

import_submodules(__name__)  # new files register without an edit here
