"""Read a heat-map NIfTI (``heatmap.nii.gz``, values in [0, 1]) in RAS voxel order, as float.

``spine_io.load_spine_volume`` rounds label maps to integers, which would turn a Grad-CAM++
map into 0 / 1; this reader keeps the values.
"""
from __future__ import annotations

import os

import numpy as np

from .spine_io import CANONICAL, SpineDataError


def load_heatmap(path: str | os.PathLike) -> np.ndarray:
    """Float32 [X, Y, Z] heat map re-oriented to RAS (as the CT and labels are)."""
    from monai.transforms import Compose, EnsureChannelFirstd, LoadImaged, Orientationd

    if not os.path.isfile(path):
        raise SpineDataError(f"{path}: heat-map file does not exist")
    steps = Compose([LoadImaged(keys="heat", image_only=True), EnsureChannelFirstd(keys="heat"),
                     Orientationd(keys="heat", axcodes=CANONICAL,
                                  labels=(("L", "R"), ("P", "A"), ("I", "S")))])
    try:
        data = steps({"heat": str(path)})["heat"]
    except Exception as err:  # MONAI wraps reader errors; name the file
        raise SpineDataError(f"{path}: cannot be read as NIfTI ({err})") from err
    if data.ndim != 4 or data.shape[0] != 1:
        raise SpineDataError(f"{path}: expected a 3-D heat map, got shape {tuple(data.shape)}")
    return data[0].numpy().astype(np.float32)
