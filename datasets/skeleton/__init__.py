"""Skeleton data: format readers and datasets."""
from .base import SkeletonDataset, SkeletonFormatError, validate_sample  # noqa: F401
from .coco2d import COCO2DClips, PreNormalize2D, read_coco2d_clip  # noqa: F401
from .msr_action3d import MSRAction3D, read_msr_skeleton  # noqa: F401
from .ntu import NTURGBD, parse_ntu_name, read_ntu_skeleton  # noqa: F401
from .nw_ucla import NWUCLA, read_ucla_json  # noqa: F401
from .pyskl import PoseDataset, dump_pyskl, load_pyskl  # noqa: F401
from .synthetic import SyntheticSkeletonActions  # noqa: F401
