"""Converters from official checkpoint layouts to the zoo's key names."""
from zoo.imports import import_submodules

from .ctrgcn import convert_ctrgcn_official, convert_ctrgcn_pyskl  # noqa: F401
from .skateformer import convert_skateformer_official  # noqa: F401
from .stgcn import convert_stgcn_official  # noqa: F401
from .stgcn_pyskl import convert_stgcn_pyskl  # noqa: F401

import_submodules(__name__)  # new files register without an edit here
