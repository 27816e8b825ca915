"""Converters from official checkpoint layouts to the zoo's key names."""
from .skateformer import convert_skateformer_official  # noqa: F401
from .stgcn import convert_stgcn_official  # noqa: F401
