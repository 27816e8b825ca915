"""Converters from official checkpoint layouts to the zoo's key names."""
from .stgcn import convert_stgcn_official  # noqa: F401
