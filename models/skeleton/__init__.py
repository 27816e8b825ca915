"""Skeleton action recognition backbones."""
from . import graph  # noqa: F401
from .skateformer import SkateFormer  # noqa: F401
from .stgcn import STGCN  # noqa: F401
