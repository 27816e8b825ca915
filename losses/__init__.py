"""Losses (installed as ``zoo.losses``); importing registers them in ``MODELS``."""
from . import cldice, contrastive, dice_ce, reconstruction, skeleton_recall, soft_skeleton  # noqa: F401
