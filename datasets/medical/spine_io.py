"""Read spine CT + vertebra label NIfTI files with MONAI and cut sagittal slices / crops.

Every volume is re-oriented to RAS (axis 0 left->right, 1 posterior->anterior, 2
inferior->superior) whatever the orientation stored in the file, so heights are always
measured along axis 2 and the AP sections along axis 1. Sagittal images returned here have
rows running superior -> inferior and columns posterior -> anterior.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

CANONICAL = "RAS"


class SpineDataError(ValueError):
    """A spine file or label map cannot be used; the message names the file and the problem."""


@dataclass
class SpineVolume:
    """A CT volume (windowed to [-1, 1]) and its label map in RAS voxel order."""

    image: np.ndarray | None
    label: np.ndarray
    spacing: np.ndarray
    affine: np.ndarray
    source: str

    def require_label(self, label_id: int) -> np.ndarray:
        """Boolean mask of ``label_id``; a clear error when the vertebra is absent."""
        mask = self.label == label_id
        if not mask.any():
            present = sorted(int(v) for v in np.unique(self.label) if v != 0)
            raise SpineDataError(f"{self.source}: label map has no voxel of vertebra "
                                 f"{label_id} (labels present: {present})")
        return mask


def load_spine_volume(label_path: str | os.PathLike, ct_path: str | os.PathLike | None = None,
                      window: tuple[float, float] | None = (-200.0, 800.0),
                      pixdim: tuple[float, float, float] | None = None) -> SpineVolume:
    """Load with MONAI: LoadImaged -> EnsureChannelFirstd -> Orientationd(RAS)
    [-> Spacingd] -> ScaleIntensityRanged(window -> [-1, 1], clipped) on the CT
    (``window=None``: the CT is returned unscaled, e.g. in HU)."""
    from monai.transforms import (
        Compose,
        EnsureChannelFirstd,
        LoadImaged,
        Orientationd,
        ScaleIntensityRanged,
        Spacingd,
    )

    keys = ["label"] if ct_path is None else ["image", "label"]
    paths = {"label": str(label_path)}
    if ct_path is not None:
        paths["image"] = str(ct_path)
    for key, path in paths.items():
        if not os.path.isfile(path):
            raise SpineDataError(f"{path}: {key} file does not exist")
    steps = [LoadImaged(keys=keys, image_only=True), EnsureChannelFirstd(keys=keys),
             Orientationd(keys=keys, axcodes=CANONICAL,
                          labels=(("L", "R"), ("P", "A"), ("I", "S")))]
    if pixdim is not None:
        modes = ["bilinear", "nearest"] if ct_path is not None else ["nearest"]
        steps.append(Spacingd(keys=keys, pixdim=pixdim, mode=modes))
    if ct_path is not None and window is not None:
        steps.append(ScaleIntensityRanged(keys="image", a_min=window[0], a_max=window[1],
                                          b_min=-1.0, b_max=1.0, clip=True))
    try:
        data = Compose(steps)(paths)
    except Exception as err:  # MONAI wraps reader errors; name the files
        raise SpineDataError(f"{paths}: cannot be read as NIfTI ({err})") from err
    label_t = data["label"]
    if label_t.shape[0] != 1 or label_t.ndim != 4:
        raise SpineDataError(f"{label_path}: expected a 3-D label map, got shape "
                             f"{tuple(label_t.shape)}")
    image = None
    if ct_path is not None:
        image = data["image"][0].numpy().astype(np.float32)
        if image.shape != label_t.shape[1:]:
            raise SpineDataError(f"{ct_path}: CT shape {image.shape} differs from label "
                                 f"shape {tuple(label_t.shape[1:])} of {label_path}")
    affine = np.asarray(label_t.affine, dtype=np.float64)
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    label = np.rint(label_t[0].numpy()).astype(np.int32)
    return SpineVolume(image, label, spacing, affine, str(label_path))


def sagittal(volume: np.ndarray, x_index: int) -> np.ndarray:
    """Sagittal slice ``x_index`` of a RAS array as [SI (superior first), AP (posterior first)]."""
    return np.ascontiguousarray(volume[x_index].T[::-1])


def crop_centered(array: np.ndarray, centre: tuple[int, int], size: tuple[int, int],
                  fill: float) -> np.ndarray:
    """Crop a 2-D array to ``size`` around ``centre`` (row, col), padding with ``fill``."""
    out = np.full(size, fill, dtype=array.dtype)
    r0, c0 = centre[0] - size[0] // 2, centre[1] - size[1] // 2
    rs, cs = max(r0, 0), max(c0, 0)
    re, ce = min(r0 + size[0], array.shape[0]), min(c0 + size[1], array.shape[1])
    if re > rs and ce > cs:
        out[rs - r0:re - r0, cs - c0:ce - c0] = array[rs:re, cs:ce]
    return out


def vertebra_crop(image: np.ndarray | None, label: np.ndarray, label_id: int, x_index: int,
                  size: tuple[int, int] = (64, 64), centre: tuple[int, int] | None = None):
    """Sagittal crop around vertebra ``label_id`` (with its neighbours above and below).

    Returns (image crop or None, label crop, centre used). The centre defaults to the
    vertebra's centroid on that slice.
    """
    lab = sagittal(label, x_index)
    if centre is None:
        rows, cols = np.nonzero(lab == label_id)
        if rows.size == 0:
            raise SpineDataError(f"vertebra {label_id} is absent from sagittal slice {x_index}")
        centre = (int(round(rows.mean())), int(round(cols.mean())))
    lab_crop = crop_centered(lab, centre, size, 0)
    img_crop = None if image is None else crop_centered(sagittal(image, x_index), centre, size,
                                                        -1.0)
    return img_crop, lab_crop, centre
