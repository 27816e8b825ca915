"""Synthetic lumbar-spine CT phantoms with controllable vertebral height loss.

Public CT data cannot be fetched here, so tests, training and the demo of HealthiVert-GAN
(Zhang et al., JBHI 2025, arXiv 2503.05990) run on analytic phantoms: a column of vertebral
bodies (bright cortical shell, darker textured cancellous core) separated by discs, inside soft
tissue and air, blurred and with Gaussian noise, in Hounsfield units.

Geometry (RAS voxel axes: 0 = left->right, 1 = posterior->anterior, 2 = inferior->superior).
Each body is an elliptic cylinder along the spine axis. A fracture lowers the superior endplate:
the local height at relative AP position ``u`` (0 = posterior edge, 1 = anterior edge) is
``H * (1 - loss(u))`` where ``loss`` interpolates linearly between the planted posterior /
middle / anterior losses placed at the centres of the three AP thirds (``u`` = 1/6, 1/2, 5/6)
and is constant beyond them. Healthy heights grow caudally with a small random jitter, so the
neighbours of a vertebra predict its healthy height (the prior HealthiVert-GAN relies on).

Each case is a folder (``case_0000``, ``case_0001``, ...) with ``ct.nii.gz``,
``label.nii.gz`` (after fracture), ``healthy_label.nii.gz`` (pre-fracture ground truth)
and ``meta.json``.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from zoo.fileio import atomic_path, atomic_write_text

SECTIONS = ("posterior", "middle", "anterior")
GENANT_RANGES = {0: (0.0, 0.17), 1: (0.21, 0.24), 2: (0.27, 0.37), 3: (0.43, 0.52)}


def genant_grade(max_loss: float) -> int:
    """Genant semi-quantitative grade of a height loss ratio: <20% 0, 20-25% 1, 25-40% 2, >40% 3."""
    if max_loss < 0.20:
        return 0
    if max_loss < 0.25:
        return 1
    if max_loss <= 0.40:
        return 2
    return 3


@dataclass
class PhantomConfig:
    """Size and appearance of one phantom volume (lengths in mm, intensities in HU)."""

    spacing: tuple[float, float, float] = (1.5, 1.5, 1.5)
    shape: tuple[int, int, int] = (40, 64, 150)
    n_vertebrae: int = 6
    first_label: int = 18
    height_range: tuple[float, float] = (21.0, 26.0)
    height_step: float = 0.8
    height_jitter: float = 0.3
    disc_range: tuple[float, float] = (7.0, 9.0)
    depth_range: tuple[float, float] = (30.0, 35.0)
    width_range: tuple[float, float] = (38.0, 44.0)
    cortical_mm: float = 1.5
    hu_cortical: float = 700.0
    hu_cancellous: float = 220.0
    hu_disc: float = 90.0
    hu_soft: float = 40.0
    hu_air: float = -1000.0
    texture_hu: float = 35.0
    noise_hu: float = 25.0
    blur_voxels: float = 0.6


@dataclass
class Fracture:
    """Planted relative height loss of one vertebra (fractions of its healthy height)."""

    index: int
    posterior: float
    middle: float
    anterior: float

    def profile(self, u: np.ndarray) -> np.ndarray:
        """Loss at relative AP positions ``u`` (0 posterior .. 1 anterior)."""
        knots = np.array([1 / 6, 1 / 2, 5 / 6])
        values = np.array([self.posterior, self.middle, self.anterior])
        return np.interp(np.clip(u, 0.0, 1.0), knots, values)

    def section_losses(self) -> dict[str, float]:
        """Mean loss over each AP third (the quantity RHLV estimates per section)."""
        out = {}
        for k, name in enumerate(SECTIONS):
            u = np.linspace(k / 3, (k + 1) / 3, 201)
            out[name] = float(self.profile(u).mean())
        return out


@dataclass
class VertebraSpec:
    label: int
    center_mm: tuple[float, float, float]
    height: float
    depth: float
    width: float
    fracture: Fracture | None = None
    info: dict = field(default_factory=dict)


def sample_fracture(rng: np.random.Generator, index: int, grade: int) -> Fracture:
    """A wedge, biconcave or crush fracture whose largest section loss lies in ``grade``."""
    low, high = GENANT_RANGES[grade]
    peak = float(rng.uniform(low, high))
    kind = rng.choice(["wedge", "biconcave", "crush"])
    if kind == "wedge":
        a, m, p = peak, peak * rng.uniform(0.6, 0.85), peak * rng.uniform(0.2, 0.5)
    elif kind == "biconcave":
        a, m, p = peak * rng.uniform(0.6, 0.85), peak, peak * rng.uniform(0.6, 0.85)
    else:
        a, m, p = peak, peak * rng.uniform(0.85, 1.0), peak * rng.uniform(0.85, 1.0)
    fracture = Fracture(index=index, posterior=float(p), middle=float(m), anterior=float(a))
    # the section means are what a measurement sees; re-scale so that their maximum is `peak`
    scale = peak / max(fracture.section_losses().values())
    return Fracture(index, float(p * scale), float(m * scale), float(a * scale))


def layout_spine(cfg: PhantomConfig, rng: np.random.Generator) -> list[VertebraSpec]:
    """Place ``n_vertebrae`` bodies along the superior-inferior axis, top (superior) first."""
    size = np.array(cfg.shape) * np.array(cfg.spacing)
    top_height = rng.uniform(*cfg.height_range)
    depth0, width0 = rng.uniform(*cfg.depth_range), rng.uniform(*cfg.width_range)
    heights = [top_height + k * cfg.height_step + rng.normal(0, cfg.height_jitter)
               for k in range(cfg.n_vertebrae)]
    discs = [rng.uniform(*cfg.disc_range) for _ in range(cfg.n_vertebrae - 1)]
    total = sum(heights) + sum(discs)
    if total > size[2] - 10:
        raise ValueError(f"phantom: spine of {total:.0f} mm does not fit in {size[2]:.0f} mm")
    z = size[2] / 2 + total / 2  # superior end of the top body
    x0 = size[0] / 2 + rng.uniform(-2, 2)
    y0 = size[1] / 2 + rng.uniform(-3, 3)
    specs = []
    for k, h in enumerate(heights):
        centre = (x0, y0 + rng.uniform(-1, 1), z - h / 2)
        specs.append(VertebraSpec(cfg.first_label + k, centre, h,
                                  depth0 * rng.uniform(0.97, 1.03) + 0.3 * k,
                                  width0 * rng.uniform(0.97, 1.03) + 0.5 * k))
        z -= h + (discs[k] if k < len(discs) else 0)
    return specs


def _body_fields(spec: VertebraSpec, grid: tuple[np.ndarray, ...], fractured: bool):
    """Boolean body mask and cortical shell mask of one vertebra on the mm grid."""
    x, y, z = grid
    cx, cy, cz = spec.center_mm
    r = np.sqrt(((x - cx) / (spec.width / 2)) ** 2 + ((y - cy) / (spec.depth / 2)) ** 2)
    u = (y - (cy - spec.depth / 2)) / spec.depth
    loss = spec.fracture.profile(u) if (fractured and spec.fracture) else np.zeros_like(u)
    bottom = cz - spec.height / 2
    top = bottom + spec.height * (1 - loss)
    inside = (r <= 1) & (z >= bottom) & (z <= top)
    return inside, r, bottom, top


def render_phantom(cfg: PhantomConfig, specs: list[VertebraSpec], rng: np.random.Generator,
                   fractured: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Render (CT in HU float32, label int16) on the RAS grid of ``cfg``."""
    axes = [(np.arange(n) + 0.5) * s for n, s in zip(cfg.shape, cfg.spacing)]
    grid = np.meshgrid(*axes, indexing="ij")
    x, y, z = grid
    ct = np.full(cfg.shape, cfg.hu_air, np.float32)
    size = np.array(cfg.shape) * np.array(cfg.spacing)
    torso = ((x - size[0] / 2) / (0.48 * size[0])) ** 2 + ((y - size[1] / 2) /
                                                           (0.48 * size[1])) ** 2 <= 1
    ct[torso] = cfg.hu_soft
    label = np.zeros(cfg.shape, np.int16)
    texture = ndimage.gaussian_filter(rng.normal(0, 1, cfg.shape), 1.2).astype(np.float32)
    texture *= cfg.texture_hu / (texture.std() + 1e-6)
    for k, spec in enumerate(specs):  # discs first, bodies drawn over them
        if k + 1 < len(specs):
            below = specs[k + 1]
            r = np.sqrt(((x - spec.center_mm[0]) / (spec.width / 2)) ** 2
                        + ((y - spec.center_mm[1]) / (spec.depth / 2)) ** 2)
            disc = (r <= 0.98) & (z < spec.center_mm[2] + spec.height / 2) & \
                (z > below.center_mm[2] - below.height / 2)
            ct[disc] = cfg.hu_disc
    for spec in specs:
        inside, r, bottom, top = _body_fields(spec, grid, fractured)
        t = cfg.cortical_mm
        shell_r = 1 - t / min(spec.width / 2, spec.depth / 2)
        shell = inside & ((r > shell_r) | (z - bottom < t) | (top - z < t))
        ct[inside] = cfg.hu_cancellous + texture[inside]
        ct[shell] = cfg.hu_cortical
        label[inside] = spec.label
    ct = ndimage.gaussian_filter(ct, cfg.blur_voxels)
    ct += rng.normal(0, cfg.noise_hu, cfg.shape).astype(np.float32)
    return ct.astype(np.float32), label


def ras_affine(spacing: tuple[float, float, float]) -> np.ndarray:
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = [-100.0, -50.0, -300.0]
    return affine


def save_nifti_atomic(array: np.ndarray, affine: np.ndarray, path: str | os.PathLike) -> None:
    """Write a NIfTI file through a temporary sibling and ``os.replace``."""
    with atomic_path(path) as tmp:
        nib.save(nib.Nifti1Image(array, affine), str(tmp))


def _write_json_atomic(obj: dict, path: Path) -> None:
    atomic_write_text(path, json.dumps(obj, indent=1))


def make_case(out_dir: str | os.PathLike, seed: int, grade: int | None = None,
              cfg: PhantomConfig | None = None, target_index: int | None = None) -> dict:
    """Write one phantom case; ``grade`` None means no fracture. Returns its metadata."""
    cfg = cfg or PhantomConfig()
    rng = np.random.default_rng(seed)
    specs = layout_spine(cfg, rng)
    if target_index is None:
        target_index = int(rng.integers(1, cfg.n_vertebrae - 1))
    if not 1 <= target_index <= cfg.n_vertebrae - 2:
        raise ValueError(f"phantom: target_index {target_index} needs two neighbours")
    if grade is not None:
        specs[target_index].fracture = sample_fracture(rng, target_index, grade)
    ct, label = render_phantom(cfg, specs, rng, fractured=True)
    healthy = label if grade is None else render_phantom(cfg, specs, np.random.default_rng(0),
                                                          fractured=False)[1]
    out = Path(out_dir)
    affine = ras_affine(cfg.spacing)
    save_nifti_atomic(ct, affine, out / "ct.nii.gz")
    save_nifti_atomic(label, affine, out / "label.nii.gz")
    save_nifti_atomic(healthy, affine, out / "healthy_label.nii.gz")
    vertebrae = []
    for spec in specs:
        losses = spec.fracture.section_losses() if spec.fracture else dict.fromkeys(SECTIONS, 0.0)
        planted = (asdict(spec.fracture) if spec.fracture else None)
        vertebrae.append(dict(label=spec.label, healthy_height_mm=spec.height,
                              depth_mm=spec.depth, width_mm=spec.width,
                              section_loss=losses, planted=planted,
                              grade=genant_grade(max(losses.values()))))
    meta = dict(seed=seed, target_label=specs[target_index].label, target_index=target_index,
                fractured=grade is not None, spacing=list(cfg.spacing),
                shape=list(cfg.shape), vertebrae=vertebrae)
    _write_json_atomic(meta, out / "meta.json")
    return meta


def generate_phantom_set(root: str | os.PathLike, n_cases: int, seed: int = 0,
                         fractured: bool = True, cfg: PhantomConfig | None = None,
                         progress: bool = False) -> list[Path]:
    """Write ``n_cases`` cases under ``root`` (grades cycling 0..3 when ``fractured``).

    Existing complete cases (``meta.json`` present) are kept, so the call is resumable.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    cases = []
    iterator = range(n_cases)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, desc=f"phantoms -> {root}")
    for i in iterator:
        case = root / f"case_{i:04d}"
        if not (case / "meta.json").is_file():
            make_case(case, seed=seed * 100003 + i, grade=(i % 4) if fractured else None,
                      cfg=cfg)
        cases.append(case)
    return cases
