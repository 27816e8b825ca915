"""Skeleton data: format readers and datasets."""
from .base import SkeletonDataset, SkeletonFormatError, validate_sample  # noqa: F401
from .msr_action3d import MSRAction3D, read_msr_skeleton  # noqa: F401
from .synthetic import SyntheticSkeletonActions  # noqa: F401
