"""Skeleton action recognition backbones."""
from . import graph  # noqa: F401
from .ctrgcn import CTRGCN  # noqa: F401
from .ensemble_cnn1d import EnsembleCNN1D, EnsembleCNN1DHead, EnsembleCNN1DRecognizer  # noqa: F401,E501
from .skateformer import SkateFormer  # noqa: F401
from .stgcn import STGCN  # noqa: F401
from .stgcn_pyskl import PysklSTGCN  # noqa: F401
