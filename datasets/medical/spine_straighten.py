"""Spine straightening, the pre-processing of HealthiVert-GAN (Zhang et al., JBHI 2025, arXiv
2503.05990): resample a CT and its label maps along the spine's centre line so that the line
becomes vertical and every vertebra is measured along its own axis.

1. Centre line: the centroid of every vertebra label, ordered inferior -> superior, joined by
   an interpolating spline (cubic from 4 vertebrae on) parameterised by chord length; beyond
   the end centroids the spline is continued for half a vertebra spacing, then straight along
   its end tangents so that it spans the whole volume.
2. Resampling: output slice ``k`` (axis 2) is the plane perpendicular to the curve at arc
   length ``s_k = s_0 + k * spacing[2]``, ``s_0`` where the curve enters the volume's inferior
   face; within it, output voxel ``(i, j)`` lies at offsets ``a = i * spacing[0] - x_c``
   (left-right, along ``e1``) and ``b = j * spacing[1] - y_c`` (anterior, along ``e2``) from
   the curve, ``(x_c, y_c)`` being the mean centroid position (mm), so the straightened centre
   line is the vertical line through the centroids' mean. Frames as in ``spine_curve``. CT and
   heat maps are interpolated trilinearly, label maps by nearest neighbour.

The physical spacing is kept; the output keeps the input's voxel-to-world affine (it is a
resampled, not a rigidly moved, volume) and is longer along axis 2 than the input by the
curve's excess arc length. Arrays are RAS (``spine_io``). ``straighten_case`` writes the
straightened files of a case folder atomically with ``straighten.json`` (the fitted curve).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.interpolate import make_interp_spline

from zoo.fileio import atomic_write_text

from .spine_curve import CentreLine
from .spine_io import SpineDataError, load_spine_volume
from .spine_phantom import save_nifti_atomic

CASE_FILES = {"ct": "image", "label": "label", "healthy_label": "label", "heatmap": "image"}


def vertebra_centroids(label: np.ndarray, spacing, source: str = "label map",
                       labels=None) -> dict[int, np.ndarray]:
    """Centroid (mm, ``index * spacing``) of every vertebra label (all non-zero by default)."""
    present = [int(v) for v in np.unique(label) if v != 0]
    ids = present if labels is None else [int(v) for v in labels if int(v) in present]
    if not ids:
        raise SpineDataError(f"{source}: label map has no vertebra label (labels present: "
                             f"{present}); cannot fit the spine centre line")
    coms = ndimage.center_of_mass(np.ones(label.shape), label, ids)
    return {i: np.asarray(c) * np.asarray(spacing, np.float64) for i, c in zip(ids, coms)}


def fit_centre_line(label: np.ndarray, spacing, source: str = "label map", labels=None,
                    step: float = 0.25) -> tuple[CentreLine, dict[int, np.ndarray]]:
    """Spline centre line through the vertebra centroids, spanning the volume (module doc)."""
    cents = vertebra_centroids(label, spacing, source, labels)
    if len(cents) < 2:
        raise SpineDataError(f"{source}: only vertebra {list(cents)} is labelled; the centre "
                             "line needs at least 2 vertebrae")
    pts = np.array(sorted(cents.values(), key=lambda c: c[2]))
    chord = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    if (chord < 1e-6).any():
        raise SpineDataError(f"{source}: two vertebrae share a centroid")
    u = np.concatenate([[0.0], np.cumsum(chord)])
    spline = make_interp_spline(u, pts, k=min(3, len(pts) - 1))
    ext = chord.mean() / 2
    uu = np.arange(-ext, u[-1] + ext + step, step)
    dense = spline(uu)
    height = (label.shape[2] - 1) * float(spacing[2])
    lower, upper = _extend(dense[:2], -1, 0.0 - step, step), _extend(dense[-2:], +1, height +
                                                                     step, step)
    points = np.concatenate([lower[::-1], dense, upper])
    try:
        return CentreLine(points), cents
    except ValueError as err:
        raise SpineDataError(f"{source}: {err}") from err


def _extend(end: np.ndarray, direction: int, z_target: float, step: float) -> np.ndarray:
    """Straight continuation from an end of the curve (``end`` = its last two points, in the
    order of travel) until height ``z_target``; empty when already there."""
    p = end[-1] if direction > 0 else end[0]
    t = (end[-1] - end[0]) / np.linalg.norm(end[-1] - end[0])
    if t[2] <= 0.3:
        raise SpineDataError("the spine centre line does not run inferior -> superior")
    dist = direction * (z_target - p[2]) / t[2]
    if dist <= 0:
        return np.zeros((0, 3))
    d = np.arange(step, dist + step, step)
    return p + direction * d[:, None] * t


@dataclass
class StraightenedSpine:
    """Straightened label map (+ CT and other volumes) and the curve used (module doc)."""

    label: np.ndarray
    image: np.ndarray | None
    others: dict[str, np.ndarray]
    spacing: np.ndarray
    line: CentreLine
    centroids_mm: dict[int, np.ndarray]
    s0: float
    anchor_mm: tuple[float, float]

    def centre_line_voxel(self) -> np.ndarray:
        """Input-voxel coordinates of the curve at every output slice (``[K, 3]``)."""
        s = self.s0 + np.arange(self.label.shape[2]) * self.spacing[2]
        return self.line.point(s) / self.spacing


def _sample_grid(line: CentreLine, shape_in, spacing, anchor, s0: float) -> np.ndarray:
    sp = np.asarray(spacing, np.float64)
    n_out = int(np.floor((float(line.s_at_z((shape_in[2] - 1) * sp[2])) - s0) / sp[2])) + 1
    a = np.arange(shape_in[0]) * sp[0] - anchor[0]
    b = np.arange(shape_in[1]) * sp[1] - anchor[1]
    s = s0 + np.arange(n_out) * sp[2]
    ss, aa, bb = np.meshgrid(s, a, b, indexing="ij")  # [K, I, J]: one frame per slice
    world = line.to_world(ss, aa, bb)
    return np.moveaxis(world / sp, -1, 0).transpose(0, 2, 3, 1)  # [3, I, J, K] voxel coords


def straighten_arrays(label: np.ndarray, spacing, image: np.ndarray | None = None,
                      others: dict[str, tuple[np.ndarray, int]] | None = None,
                      source: str = "label map", labels=None,
                      image_fill: float | None = None) -> StraightenedSpine:
    """Straighten RAS arrays along the centre line fitted to ``label``.

    ``others`` maps a name to ``(array, order)`` (0 = nearest for label maps, 1 = trilinear)
    resampled with the same curve. ``image_fill`` (default: the image minimum) fills the
    voxels that map outside the input.
    """
    sp = np.asarray(spacing, np.float64)
    line, cents = fit_centre_line(label, sp, source, labels)
    anchor = tuple(float(v) for v in np.mean(list(cents.values()), axis=0)[:2])
    s0 = float(line.s_at_z(0.0))
    coords = _sample_grid(line, label.shape, sp, anchor, s0)
    # beyond half a voxel outside the input: fill; within it: the edge voxel (mode "nearest"),
    # so a coordinate a rounding error below 0 does not turn into the fill value
    outside = np.zeros(coords.shape[1:], bool)
    for k in range(3):
        outside |= (coords[k] < -0.5) | (coords[k] > label.shape[k] - 0.5)

    def resample(arr: np.ndarray, order: int, fill: float) -> np.ndarray:
        if arr.shape != label.shape:
            raise SpineDataError(f"{source}: volume shape {arr.shape} differs from the label "
                                 f"map's {label.shape}")
        out = ndimage.map_coordinates(arr, coords, order=order, mode="nearest")
        out[outside] = fill
        return out.astype(arr.dtype, copy=False)

    out_image = None
    if image is not None:
        fill = float(image.min()) if image_fill is None else image_fill
        out_image = resample(np.asarray(image, np.float32), 1, fill)
    out_others = {k: resample(np.asarray(a), order, 0) for k, (a, order) in
                  (others or {}).items()}
    return StraightenedSpine(resample(label, 0, 0), out_image, out_others, sp, line, cents, s0,
                             anchor)


def _signature(paths: dict[str, Path]) -> dict[str, list[int]]:
    return {k: [p.stat().st_size, p.stat().st_mtime_ns] for k, p in sorted(paths.items())}


def straighten_case(case_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None,
                    fit_on: str = "label") -> Path:
    """Straighten the NIfTI files of a case folder (``ct``, ``label``, ``healthy_label``,
    ``heatmap``; those present) along the centre line of ``<fit_on>.nii.gz``.

    Writes ``<name>.nii.gz`` (RAS, HU kept for the CT) and ``straighten.json`` (the fitted
    curve, the input files' size and mtime) under ``out_dir`` (default
    ``<case>/straightened``), each atomically; ``straighten.json`` is written last.
    """
    case = Path(case_dir)
    out = Path(out_dir) if out_dir is not None else case / "straightened"
    paths = {k: case / f"{k}.nii.gz" for k in CASE_FILES if (case / f"{k}.nii.gz").is_file()}
    if fit_on not in paths:
        raise SpineDataError(f"{case / (fit_on + '.nii.gz')}: label map to fit the centre line "
                             "on does not exist")
    base = load_spine_volume(paths[fit_on])
    vols, ct = {}, None
    for name, path in paths.items():
        if name == fit_on:
            continue
        kind = CASE_FILES[name]
        vol = load_spine_volume(path) if kind == "label" else \
            load_spine_volume(base.source, path, window=None)
        arr = vol.label if kind == "label" else vol.image
        if arr.shape != base.label.shape or not np.allclose(vol.affine, base.affine, atol=1e-3):
            raise SpineDataError(f"{path}: not on the voxel grid of {paths[fit_on]}")
        if name == "ct":
            ct = arr
        else:
            vols[name] = (arr, 0 if kind == "label" else 1)
    res = straighten_arrays(base.label, base.spacing, image=ct, others=vols,
                            source=str(paths[fit_on]))
    res.others[fit_on] = res.label
    if res.image is not None:
        res.others["ct"] = res.image
    for name, arr in res.others.items():
        dtype = np.int16 if CASE_FILES[name] == "label" else np.float32
        save_nifti_atomic(arr.astype(dtype), base.affine, out / f"{name}.nii.gz")
    info = dict(source=str(paths[fit_on]), spacing=res.spacing.tolist(), s0_mm=res.s0,
                anchor_mm=list(res.anchor_mm), shape=list(res.label.shape),
                centroids_voxel={str(k): (v / res.spacing).round(3).tolist()
                                 for k, v in res.centroids_mm.items()},
                centre_line_voxel=res.centre_line_voxel().round(3).tolist(),
                inputs=_signature(paths))
    atomic_write_text(out / "straighten.json", json.dumps(info, indent=1))
    return out


def ensure_straightened(case_dir: str | os.PathLike, fit_on: str = "label") -> Path:
    """``<case>/straightened``, (re)made when missing or when an input file changed."""
    case = Path(case_dir)
    out = case / "straightened"
    marker = out / "straighten.json"
    if marker.is_file():
        paths = {k: case / f"{k}.nii.gz" for k in CASE_FILES
                 if (case / f"{k}.nii.gz").is_file()}
        try:
            if json.loads(marker.read_text()).get("inputs") == _signature(paths):
                return out
        except json.JSONDecodeError:
            pass
    return straighten_case(case, out, fit_on)
