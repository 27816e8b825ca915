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

Curved phantoms (``curved=True``): the spine's centre line follows a seeded smooth curve
(sagittal sinusoid = lordosis / kyphosis, plus an optional small coronal sinusoid =
scoliosis). Every body and disc is defined in the curve's local coordinates ``(s, a, b)``
(arc length, left-right and AP offsets; ``spine_curve``), so each endplate lies in the plane
perpendicular to the curve and straightening along the true curve recovers the straight
geometry exactly. Curved phantoms also vary the vertebra shapes more (AP depth, width, seeded
per vertebra) and give the endplates a seeded concavity: the healthy column height at
normalised radius ``rho`` of the elliptic cross-section is ``H - (c_sup + c_inf)(1 - rho^2)``,
``H`` being the rim-to-rim height recorded as ``healthy_height_mm``. A fracture scales every
column height by ``1 - loss(u)``. ``meta.json`` records the curve (parameters and its points in
voxel coordinates, one per axial slice), each body's arc-length position, tilt and concavities.

Each case is a folder (``case_0000``, ``case_0001``, ...) with ``ct.nii.gz``,
``label.nii.gz`` (after fracture), ``healthy_label.nii.gz`` (pre-fracture ground truth)
and ``meta.json``.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from zoo.fileio import atomic_path, atomic_write_text

from .spine_curve import CentreLine

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
    # curved phantoms (see module doc); the fields below are used only when curved is True
    curved: bool = False
    sagittal_amplitude: tuple[float, float] = (4.0, 9.0)
    sagittal_wavelength: tuple[float, float] = (200.0, 280.0)
    coronal_amplitude: tuple[float, float] = (0.0, 3.0)
    coronal_wavelength: tuple[float, float] = (180.0, 280.0)
    shape_jitter: float = 0.06
    concavity_range: tuple[float, float] = (0.3, 1.5)


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


@dataclass
class SpineCurve:
    """Planted centre line of a curved phantom: ``x(z)`` and ``y(z)`` sinusoids (mm on the
    phantom grid, voxel centres at ``(index + 0.5) * spacing``)."""

    x0: float
    y0: float
    sagittal_amplitude: float
    sagittal_wavelength: float
    sagittal_phase: float
    coronal_amplitude: float
    coronal_wavelength: float
    coronal_phase: float

    def xy(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = np.asarray(z, np.float64)
        x = self.x0 + self.coronal_amplitude * np.sin(2 * np.pi * z / self.coronal_wavelength
                                                      + self.coronal_phase)
        y = self.y0 + self.sagittal_amplitude * np.sin(2 * np.pi * z / self.sagittal_wavelength
                                                       + self.sagittal_phase)
        return x, y

    def centre_line(self, z_lo: float, z_hi: float, step: float = 0.2) -> CentreLine:
        z = np.arange(z_lo, z_hi + step, step)
        return CentreLine(np.stack([*self.xy(z), z], axis=1))

    def points_voxel(self, cfg: PhantomConfig) -> list[list[float]]:
        """The curve at every axial slice centre, in voxel coordinates (rounded to 1e-3)."""
        sp = np.array(cfg.spacing)
        z = (np.arange(cfg.shape[2]) + 0.5) * sp[2]
        mm = np.stack([*self.xy(z), z], axis=1)
        return np.round(mm / sp - 0.5, 3).tolist()


def sample_curve(cfg: PhantomConfig, rng: np.random.Generator) -> SpineCurve:
    """A seeded sagittal (lordosis / kyphosis) and coronal (scoliosis) sinusoid."""
    size = np.array(cfg.shape) * np.array(cfg.spacing)
    return SpineCurve(
        x0=float(size[0] / 2), y0=float(size[1] / 2 + rng.uniform(-2, 2)),
        sagittal_amplitude=float(rng.uniform(*cfg.sagittal_amplitude)),
        sagittal_wavelength=float(rng.uniform(*cfg.sagittal_wavelength)),
        sagittal_phase=float(rng.uniform(0, 2 * np.pi)),
        coronal_amplitude=float(rng.uniform(*cfg.coronal_amplitude)),
        coronal_wavelength=float(rng.uniform(*cfg.coronal_wavelength)),
        coronal_phase=float(rng.uniform(0, 2 * np.pi)))


def _phantom_line(cfg: PhantomConfig, curve: SpineCurve) -> CentreLine:
    size_z = cfg.shape[2] * cfg.spacing[2]
    return curve.centre_line(-20.0, size_z + 20.0)


def layout_curved_spine(cfg: PhantomConfig, rng: np.random.Generator,
                        curve: SpineCurve) -> list[VertebraSpec]:
    """Place the bodies along the arc length of ``curve``, top (superior) first.

    ``center_mm`` is the body's centre on the curve; ``info`` holds its arc length ``s_mm``,
    endplate concavities (mm) and sagittal / coronal tilt of the curve there (degrees).
    """
    size = np.array(cfg.shape) * np.array(cfg.spacing)
    top_height = rng.uniform(*cfg.height_range)
    depth0, width0 = rng.uniform(*cfg.depth_range), rng.uniform(*cfg.width_range)
    heights = [top_height + k * cfg.height_step + rng.normal(0, cfg.height_jitter)
               for k in range(cfg.n_vertebrae)]
    discs = [rng.uniform(*cfg.disc_range) for _ in range(cfg.n_vertebrae - 1)]
    total = sum(heights) + sum(discs)
    line = _phantom_line(cfg, curve)
    s = float(line.s_at_z(size[2] / 2)) + total / 2  # superior end of the top body
    j = cfg.shape_jitter
    specs = []
    for k, h in enumerate(heights):
        s_c = s - h / 2
        t, _, _ = line.frame(s_c)
        spec = VertebraSpec(
            cfg.first_label + k, tuple(float(v) for v in line.point(s_c)), h,
            depth0 * rng.uniform(1 - j, 1 + j) + 0.3 * k,
            width0 * rng.uniform(1 - j, 1 + j) + 0.5 * k,
            info=dict(s_mm=float(s_c),
                      concavity_superior_mm=float(rng.uniform(*cfg.concavity_range)),
                      concavity_inferior_mm=float(rng.uniform(*cfg.concavity_range)),
                      sagittal_tilt_deg=float(np.degrees(np.arctan2(t[1], t[2]))),
                      coronal_tilt_deg=float(np.degrees(np.arctan2(t[0], t[2])))))
        _check_inside(cfg, line, spec, size)
        specs.append(spec)
        s -= h + (discs[k] if k < len(discs) else 0)
    return specs


def _check_inside(cfg: PhantomConfig, line: CentreLine, spec: VertebraSpec,
                  size: np.ndarray) -> None:
    """The body's rim (both endplates) must lie inside the volume, one voxel from the border."""
    ang = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    a, b = spec.width / 2 * np.cos(ang), spec.depth / 2 * np.sin(ang)
    s_c = spec.info["s_mm"]
    rim = np.concatenate([line.to_world(s_c + d, a, b) for d in (-spec.height / 2,
                                                                  spec.height / 2)])
    margin = np.array(cfg.spacing)
    if (rim < margin).any() or (rim > size - margin).any():
        raise ValueError(f"phantom: vertebra {spec.label} of the curved spine leaves the "
                         f"{size.tolist()} mm volume; enlarge PhantomConfig.shape or reduce "
                         "the curve amplitudes")


def _curved_body_fields(spec: VertebraSpec, local: tuple[np.ndarray, ...], fractured: bool,
                        cortical_mm: float):
    """Body and cortical shell masks of one vertebra from the voxels' curve coordinates."""
    s, a, b = local
    rho2 = (a / (spec.width / 2)) ** 2 + (b / (spec.depth / 2)) ** 2
    r = np.sqrt(rho2)
    dip = np.clip(1 - rho2, 0.0, None)
    s_c = spec.info["s_mm"]
    bottom = s_c - spec.height / 2 + spec.info["concavity_inferior_mm"] * dip
    top = s_c + spec.height / 2 - spec.info["concavity_superior_mm"] * dip
    if fractured and spec.fracture:
        u = (b + spec.depth / 2) / spec.depth
        top = bottom + (top - bottom) * (1 - spec.fracture.profile(u))
    with np.errstate(invalid="ignore"):  # s is NaN off the curve's ends
        inside = (r <= 1) & (s >= bottom) & (s <= top)
        shell_r = 1 - cortical_mm / min(spec.width / 2, spec.depth / 2)
        shell = inside & ((r > shell_r) | (s - bottom < cortical_mm) | (top - s < cortical_mm))
    return inside, shell


def _curved_disc(spec: VertebraSpec, below: VertebraSpec, local) -> np.ndarray:
    s, a, b = local
    r = np.sqrt((a / (spec.width / 2)) ** 2 + (b / (spec.depth / 2)) ** 2)
    with np.errstate(invalid="ignore"):
        return (r <= 0.98) & (s < spec.info["s_mm"] + spec.height / 2) & \
            (s > below.info["s_mm"] - below.height / 2)


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
                   fractured: bool = True,
                   curve: SpineCurve | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Render (CT in HU float32, label int16) on the RAS grid of ``cfg``; bodies and discs
    follow ``curve`` when given (specs from ``layout_curved_spine``), else the straight axis."""
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
    local = None
    if curve is not None:
        local = _phantom_line(cfg, curve).to_local(np.stack(grid, axis=-1))
    for k, spec in enumerate(specs):  # discs first, bodies drawn over them
        if k + 1 < len(specs):
            below = specs[k + 1]
            if local is not None:
                ct[_curved_disc(spec, below, local)] = cfg.hu_disc
                continue
            r = np.sqrt(((x - spec.center_mm[0]) / (spec.width / 2)) ** 2
                        + ((y - spec.center_mm[1]) / (spec.depth / 2)) ** 2)
            disc = (r <= 0.98) & (z < spec.center_mm[2] + spec.height / 2) & \
                (z > below.center_mm[2] - below.height / 2)
            ct[disc] = cfg.hu_disc
    for spec in specs:
        t = cfg.cortical_mm
        if local is not None:
            inside, shell = _curved_body_fields(spec, local, fractured, t)
        else:
            inside, r, bottom, top = _body_fields(spec, grid, fractured)
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


def _resolve_config(cfg: PhantomConfig | None, curved: bool | None) -> PhantomConfig:
    cfg = cfg or PhantomConfig()
    return cfg if curved is None else replace(cfg, curved=bool(curved))


def make_case(out_dir: str | os.PathLike, seed: int, grade: int | None = None,
              cfg: PhantomConfig | None = None, target_index: int | None = None,
              curved: bool | None = None) -> dict:
    """Write one phantom case; ``grade`` None means no fracture. Returns its metadata.

    ``curved`` (when not None) overrides ``cfg.curved``: a curved spine with varied shapes.
    """
    cfg = _resolve_config(cfg, curved)
    rng = np.random.default_rng(seed)
    curve = sample_curve(cfg, rng) if cfg.curved else None
    specs = layout_spine(cfg, rng) if curve is None else layout_curved_spine(cfg, rng, curve)
    if target_index is None:
        target_index = int(rng.integers(1, cfg.n_vertebrae - 1))
    if not 1 <= target_index <= cfg.n_vertebrae - 2:
        raise ValueError(f"phantom: target_index {target_index} needs two neighbours")
    if grade is not None:
        specs[target_index].fracture = sample_fracture(rng, target_index, grade)
    ct, label = render_phantom(cfg, specs, rng, fractured=True, curve=curve)
    healthy = label if grade is None else render_phantom(cfg, specs, np.random.default_rng(0),
                                                          fractured=False, curve=curve)[1]
    out = Path(out_dir)
    affine = ras_affine(cfg.spacing)
    save_nifti_atomic(ct, affine, out / "ct.nii.gz")
    save_nifti_atomic(label, affine, out / "label.nii.gz")
    save_nifti_atomic(healthy, affine, out / "healthy_label.nii.gz")
    vertebrae = []
    for spec in specs:
        losses = spec.fracture.section_losses() if spec.fracture else dict.fromkeys(SECTIONS, 0.0)
        planted = (asdict(spec.fracture) if spec.fracture else None)
        entry = dict(label=spec.label, healthy_height_mm=spec.height,
                     depth_mm=spec.depth, width_mm=spec.width,
                     section_loss=losses, planted=planted,
                     grade=genant_grade(max(losses.values())))
        if curve is not None:
            centre_vox = np.array(spec.center_mm) / np.array(cfg.spacing) - 0.5
            entry.update(spec.info, centre_voxel=np.round(centre_vox, 3).tolist())
        vertebrae.append(entry)
    meta = dict(seed=seed, target_label=specs[target_index].label, target_index=target_index,
                fractured=grade is not None, curved=cfg.curved, spacing=list(cfg.spacing),
                shape=list(cfg.shape), vertebrae=vertebrae)
    if curve is not None:
        meta["centre_line"] = dict(kind="sinusoids x(z), y(z) in mm on the voxel-centre grid "
                                   "(mm = (voxel + 0.5) * spacing)", **asdict(curve),
                                   points_voxel=curve.points_voxel(cfg))
    _write_json_atomic(meta, out / "meta.json")
    return meta


def generate_phantom_set(root: str | os.PathLike, n_cases: int, seed: int = 0,
                         fractured: bool = True, cfg: PhantomConfig | None = None,
                         progress: bool = False, curved: bool | None = None) -> list[Path]:
    """Write ``n_cases`` cases under ``root`` (grades cycling 0..3 when ``fractured``).

    Existing complete cases (``meta.json`` present) are kept, so the call is resumable; one of
    the other kind (straight vs curved) is an error naming the folder.
    """
    cfg = _resolve_config(cfg, curved)
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
        else:
            have = bool(json.loads((case / "meta.json").read_text()).get("curved", False))
            if have != cfg.curved:
                kind = {True: "curved", False: "straight"}
                raise ValueError(f"{case}: existing phantom is {kind[have]} but {kind[cfg.curved]}"
                                 " phantoms were requested; use another folder or delete it")
        cases.append(case)
    return cases


def phantom_cases(root: str | os.PathLike, n_cases: int = 0, seed: int = 0,
                  fractured: bool = True, curved: bool | None = None) -> list[Path]:
    """The complete case folders under ``root``, sorted; with ``n_cases`` the set is made (or
    completed) first by :func:`generate_phantom_set`. No case is an error naming ``root``."""
    root = Path(root)
    if n_cases:
        generate_phantom_set(root, n_cases, seed, fractured=fractured, progress=True,
                             curved=curved)
    cases = sorted(p for p in root.glob("case_*") if (p / "meta.json").is_file())
    if not cases:
        raise FileNotFoundError(f"{root}: no case_* folders with meta.json")
    return cases

