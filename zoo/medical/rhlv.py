"""Relative Height Loss of Vertebrae (RHLV), HealthiVert-GAN (Zhang et al., JBHI 2025).

On each sagittal slice near the vertebra's centre (centre ± left-right extent / 5) the
vertebra is split into posterior / middle / anterior thirds of the AP extent of the
*synthesised* (pseudo-healthy) mask. Column heights (voxel count along superior-inferior x
voxel spacing, in mm) are collected per section; columns lower than ``min_rel_height`` x the
height of the mask's central column are dropped (rounded corners). With mean heights
``H_syn`` and ``H_ori`` of a section, ``RHLV = (H_syn - H_ori) / H_syn``.

Following the official evaluation, if the original mask's tallest column in a section is
taller than the synthesised one, the synthesised heights of that section are scaled up to it
(``clamp_to_original``), so RHLV is never driven negative by an under-sized synthesis.
Masks are 2-D sagittal arrays (rows superior -> inferior, columns posterior -> anterior) or
RAS volumes (see ``zoo.datasets.medical.spine_io``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

SECTIONS = ("posterior", "middle", "anterior")
PARTS = ("whole", *SECTIONS)


def column_heights(mask: np.ndarray, row_spacing: float) -> np.ndarray:
    """Height in mm of every column of a 2-D sagittal mask (rows = superior-inferior)."""
    return np.count_nonzero(mask, axis=0).astype(np.float64) * float(row_spacing)


def _section_columns(syn: np.ndarray) -> dict[str, np.ndarray] | None:
    cols = np.flatnonzero(syn.any(axis=0))
    if cols.size == 0:
        return None
    c0, c1 = int(cols.min()), int(cols.max())
    span = c1 - c0
    b1, b2 = int(c0 + span / 3), int(c0 + 2 * span / 3)
    idx = np.arange(syn.shape[1])
    return {"whole": idx, "posterior": idx[:b1], "middle": idx[b1:b2], "anterior": idx[b2:]}


@dataclass
class SectionHeights:
    """Accumulates per-section column heights of synthesised and original masks over slices."""

    min_rel_height: float = 0.64
    clamp_to_original: bool = True
    syn: dict[str, list] = field(default_factory=lambda: {p: [] for p in PARTS})
    ori: dict[str, list] = field(default_factory=lambda: {p: [] for p in PARTS})

    def add_slice(self, syn: np.ndarray, ori: np.ndarray, row_spacing: float) -> bool:
        """Add one sagittal slice pair; returns False (and adds nothing) if either is empty."""
        syn, ori = np.asarray(syn, bool), np.asarray(ori, bool)
        if syn.shape != ori.shape:
            raise ValueError(f"RHLV: synthesised mask {syn.shape} and original mask "
                             f"{ori.shape} differ in shape")
        sections = _section_columns(syn)
        if sections is None or not ori.any():
            return False
        h_syn, h_ori = column_heights(syn, row_spacing), column_heights(ori, row_spacing)
        centre_syn = h_syn[int(np.flatnonzero(syn.any(0)).mean())]
        centre_ori = h_ori[int(np.flatnonzero(ori.any(0)).mean())]
        for part, cols in sections.items():
            s, o = h_syn[cols], h_ori[cols]
            scale = 1.0
            if self.clamp_to_original and s.size and o.size and o.max() > s.max() > 0:
                scale = o.max() / s.max()
            s = s * scale
            self.syn[part].extend(s[s > centre_syn * scale * self.min_rel_height])
            self.ori[part].extend(o[o > centre_ori * self.min_rel_height])
        return True

    def heights(self) -> tuple[dict[str, float], dict[str, float]]:
        mean = {p: float(np.mean(v)) if v else 0.0 for p, v in self.syn.items()}
        orig = {p: float(np.mean(v)) if v else 0.0 for p, v in self.ori.items()}
        return mean, orig

    def result(self) -> "RHLVResult":
        syn, ori = self.heights()
        rhlv = {p: (syn[p] - ori[p]) / (syn[p] + 1e-6) for p in PARTS}
        return RHLVResult(syn, ori, rhlv)


@dataclass
class RHLVResult:
    """Mean section heights (mm) of the synthesised and original vertebra and their RHLV."""

    height_syn: dict[str, float]
    height_ori: dict[str, float]
    rhlv: dict[str, float]

    def features(self) -> np.ndarray:
        """The three section RHLVs (posterior, middle, anterior): the grading features."""
        return np.array([self.rhlv[s] for s in SECTIONS])


def sagittal_slices(mask3d: np.ndarray, divisor: float = 5.0) -> range:
    """Left-right slice indices within centre ± extent / ``divisor`` of a RAS mask."""
    xs = np.flatnonzero(mask3d.any(axis=(1, 2)))
    if xs.size == 0:
        raise ValueError("RHLV: the vertebra mask is empty")
    centre = int(round(xs.mean()))
    half = int((xs.max() - xs.min()) // divisor)
    return range(max(centre - half, 0), min(centre + half, mask3d.shape[0] - 1) + 1)


def rhlv_volume(syn: np.ndarray, ori: np.ndarray, spacing, divisor: float = 5.0,
                min_rel_height: float = 0.64, clamp_to_original: bool = True) -> RHLVResult:
    """RHLV of two boolean RAS volumes of one vertebra (synthesised healthy vs original)."""
    from zoo.datasets.medical.spine_io import sagittal

    if syn.shape != ori.shape:
        raise ValueError(f"RHLV: volumes differ in shape {syn.shape} vs {ori.shape}")
    acc = SectionHeights(min_rel_height, clamp_to_original)
    for x in sagittal_slices(ori, divisor):
        acc.add_slice(sagittal(syn, x), sagittal(ori, x), float(spacing[2]))
    return acc.result()


def rhlv_from_files(syn_label_path: str | os.PathLike, ori_label_path: str | os.PathLike,
                    label_id: int, **kwargs) -> RHLVResult:
    """RHLV from two NIfTI label maps in any orientation (re-oriented to RAS with MONAI)."""
    from zoo.datasets.medical.spine_io import SpineDataError, load_spine_volume

    syn, ori = load_spine_volume(syn_label_path), load_spine_volume(ori_label_path)
    if syn.label.shape != ori.label.shape or not np.allclose(syn.affine, ori.affine, atol=1e-3):
        raise SpineDataError(f"{syn_label_path} and {ori_label_path}: the label maps are not on "
                             "the same voxel grid (shape or affine differ)")
    return rhlv_volume(syn.require_label(label_id), ori.require_label(label_id), ori.spacing,
                       **kwargs)
