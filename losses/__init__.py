"""Losses (installed as ``zoo.losses``); importing registers them in ``MODELS``."""
from . import cldice, dice_ce, skeleton_recall, soft_skeleton  # noqa: F401
