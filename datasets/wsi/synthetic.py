"""Synthetic whole-slide images with a known "tumour" region, for tests and demos.

The tissue texture is scikit-image's real immunohistochemistry image (a 512 x 512 crop of a
human colon section, DAB/haematoxylin stain), mirrored and tiled to fill a blob-shaped tissue
area on a white glass background. A positive slide additionally holds an elliptical
"tumour" region whose tiles are recoloured (denser, darker-brown staining with a dotted
nuclear pattern), so slide labels and tile labels are both known.

Continual-learning tasks (:func:`make_synthetic_task_cohort`) use a different *style* per
task. The two original styles change only the stain of the same texture:

* ``'ihc'`` — the IHC image as is (brown DAB + blue haematoxylin); tumour: the recolouring
  above (dense dark-brown DAB, dotted nuclei).
* ``'he'`` — the IHC image unmixed into stain densities (scikit-image ``rgb2hed``) and
  re-mixed with the DAB density shown as eosin (pink) and haematoxylin kept (purple), an
  H&E-like look; tumour: crowded, enlarged haematoxylin-dark nuclei on a denser, more purple
  background (a caricature of hyperchromatic, crowded tumour nuclei).

Three "organ" styles also change the tissue texture (scale, orientation, stain) and the
tumour morphology, so tasks differ the way cohorts of different organs do (CoMEL's tasks are
CAMELYON16 lymph nodes then PAIP liver, prostate, bile duct and colon):

* ``'glands'`` — the IHC texture at its own scale and stain; tumour: back-to-back glands
  (pale lumens ringed by dark haematoxylin nuclei), as in adenocarcinoma.
* ``'nuclei'`` — the texture enlarged 2x (coarser tissue), rotated 90 degrees and re-mixed
  H&E-like; tumour: crowded, enlarged dark nuclei (as ``'he'``).
* ``'strands'`` — the texture reduced 2x and smeared along one axis (a fine, fibrous,
  oriented stroma), eosin-dominant; tumour: infiltrative single-file cords of dark cells in
  random directions in a paler desmoplastic stroma.

These are synthetic tasks built from one real histology image (the only one scikit-image
ships offline); they are not real organs or cancer types.

The slide is written as a tiled, pyramidal, JPEG-free TIFF with :mod:`tifffile` (successive
pages: level 0, then downsamples 4 and 16 by default) with the resolution tags in
pixels per centimetre, which OpenSlide's generic-TIFF driver reports as ``openslide.mpp-x``.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.fileio import atomic_path


@dataclass
class SyntheticSlide:
    """What :func:`make_synthetic_slide` wrote: the slide path and its ground truth.

    ``tissue`` and ``tumour`` are boolean masks at ``mask_downsample`` (level-0 pixels per
    mask pixel); ``label`` is 1 when the slide contains tumour.
    """

    path: Path
    label: int
    tissue: np.ndarray
    tumour: np.ndarray
    mask_downsample: int
    mpp: float


STYLES = ("ihc", "he", "glands", "nuclei", "strands")
ORGAN_STYLES = ("glands", "nuclei", "strands")


def _he_mix(hed: np.ndarray, eosin_gain: float = 1.6, haem_gain: float = 1.0) -> np.ndarray:
    """Stain densities (rgb2hed) -> H&E-like RGB: haematoxylin kept, DAB shown as eosin."""
    from skimage.color import hed2rgb

    mixed = np.stack([haem_gain * hed[..., 0], eosin_gain * hed[..., 2],
                      np.zeros_like(hed[..., 0])], -1)
    return (np.clip(hed2rgb(mixed), 0, 1) * 255).round().astype(np.uint8)


@functools.lru_cache(maxsize=None)
def _source_image(style: str = "ihc") -> np.ndarray:
    """The real IHC image (512 x 512; other sizes for the organ styles) in the given style
    (uint8 RGB, read-only: cached)."""
    from skimage import data

    ihc = data.immunohistochemistry()
    if style in ("ihc", "glands"):
        out = ihc
    elif style == "he":
        from skimage.color import rgb2hed

        out = _he_mix(rgb2hed(ihc))
    elif style == "nuclei":
        from skimage.color import rgb2hed
        from skimage.transform import rescale

        hed = rescale(rgb2hed(np.rot90(ihc).copy()), 2.0, channel_axis=-1, order=1)
        out = _he_mix(hed, eosin_gain=1.3, haem_gain=1.1)
    elif style == "strands":
        from scipy.ndimage import gaussian_filter
        from skimage.color import rgb2hed
        from skimage.transform import rescale

        hed = rescale(rgb2hed(ihc), 0.5, channel_axis=-1, order=1, anti_aliasing=True)
        hed = gaussian_filter(hed, sigma=(0.6, 5.0, 0))  # fibres along the x axis
        out = _he_mix(hed, eosin_gain=2.6, haem_gain=0.8)
    else:
        raise ValueError(f"unknown slide style {style!r}; use one of {STYLES}")
    out = np.ascontiguousarray(out)
    out.setflags(write=False)
    return out


def _texture(height: int, width: int, rng: np.random.Generator, style: str = "ihc"
             ) -> np.ndarray:
    ihc = _source_image(style)
    tile = np.concatenate([ihc, ihc[:, ::-1]], axis=1)
    tile = np.concatenate([tile, tile[::-1]], axis=0)  # seamless 1024 x 1024 mirror tile
    dy, dx = rng.integers(0, tile.shape[0], 2)
    tile = np.roll(tile, (int(dy), int(dx)), axis=(0, 1))
    reps = (height // tile.shape[0] + 1, width // tile.shape[1] + 1, 1)
    return np.tile(tile, reps)[:height, :width]


def _blob(height: int, width: int, cy: float, cx: float, ry: float, rx: float,
          rng: np.random.Generator, wobble: float = 0.15) -> np.ndarray:
    """An ellipse with a smoothly wobbling radius (boolean mask)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = np.arctan2((yy - cy) / ry, (xx - cx) / rx)
    radius = np.hypot((yy - cy) / ry, (xx - cx) / rx)
    phases = rng.uniform(0, 2 * np.pi, 3)
    edge = 1 + wobble * sum(np.sin(k * angle + p) / k for k, p in zip((2, 3, 5), phases))
    return radius <= edge


def _tumour_stain(rgb: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> None:
    """Recolour ``rgb`` inside ``mask`` in place: darker brown stain plus dotted nuclei."""
    region = rgb[mask].astype(np.float32)
    region = region * np.array([0.55, 0.38, 0.30], np.float32) + np.array([40, 18, 8], np.float32)
    rgb[mask] = np.clip(region, 0, 255).astype(np.uint8)
    h, w = mask.shape
    n = int(mask.sum() / 90)
    ys, xs = np.nonzero(mask)
    pick = rng.integers(0, len(ys), max(n, 1))
    for y, x in zip(ys[pick], xs[pick]):
        rgb[max(y - 2, 0):y + 3, max(x - 2, 0):x + 3] = (60, 30, 90)  # haematoxylin-dark dot


def _tumour_crowded_nuclei(rgb: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> None:
    """Recolour ``rgb`` inside ``mask`` in place: denser purple background plus crowded,
    enlarged dark nuclei (the tumour of style ``'he'``)."""
    region = rgb[mask].astype(np.float32)
    region = region * np.array([0.70, 0.55, 0.80], np.float32) + np.array([20, 5, 30],
                                                                         np.float32)
    rgb[mask] = np.clip(region, 0, 255).astype(np.uint8)
    ys, xs = np.nonzero(mask)
    pick = rng.integers(0, len(ys), max(int(mask.sum() / 45), 1))
    radii = rng.integers(2, 5, len(pick))
    h, w = mask.shape
    for y, x, r in zip(ys[pick], xs[pick], radii):
        box = (slice(max(y - r, 0), min(y + r + 1, h)), slice(max(x - r, 0), min(x + r + 1, w)))
        rgb[box][mask[box]] = (45, 25, 85)  # clipped to the annotation


def _tumour_glands(rgb: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> None:
    """Draw back-to-back glands inside ``mask`` in place: a dark epithelial ring of
    haematoxylin nuclei around a pale lumen, packed on a jittered grid (adenocarcinoma)."""
    from skimage.draw import disk

    h, w = mask.shape
    region = rgb[mask].astype(np.float32)
    rgb[mask] = np.clip(region * np.array([0.75, 0.62, 0.55], np.float32), 0, 255).astype(
        np.uint8)
    ys, xs = np.nonzero(mask)
    spacing = 13
    for y0 in range(int(ys.min()), int(ys.max()) + 1, spacing):
        for x0 in range(int(xs.min()), int(xs.max()) + 1, spacing):
            cy, cx = y0 + rng.uniform(-2, 2), x0 + rng.uniform(-2, 2)
            if not mask[min(max(int(cy), 0), h - 1), min(max(int(cx), 0), w - 1)]:
                continue
            r = rng.uniform(5.5, 7.0)
            rr, cc = disk((cy, cx), r, shape=(h, w))
            keep = mask[rr, cc]
            rgb[rr[keep], cc[keep]] = (70, 45, 105)  # epithelial ring (nuclei)
            rr, cc = disk((cy, cx), r - 2.5, shape=(h, w))
            keep = mask[rr, cc]
            rgb[rr[keep], cc[keep]] = (236, 226, 222)  # lumen


def _tumour_strands(rgb: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> None:
    """Draw infiltrative cords inside ``mask`` in place: a paler (desmoplastic) stroma with
    thin single-file strands of dark cells in random directions."""
    from skimage.draw import line

    h, w = mask.shape
    region = rgb[mask].astype(np.float32)
    rgb[mask] = np.clip(0.6 * region + 0.4 * np.array([238, 205, 222], np.float32), 0,
                        255).astype(np.uint8)
    ys, xs = np.nonzero(mask)
    pick = rng.integers(0, len(ys), max(int(mask.sum() / 70), 1))
    for y, x in zip(ys[pick], xs[pick]):
        angle, length = rng.uniform(0, np.pi), rng.uniform(10, 26)
        dy, dx = length * np.sin(angle), length * np.cos(angle)
        y1 = int(np.clip(y + dy, 0, h - 1))
        x1 = int(np.clip(x + dx, 0, w - 1))
        rr, cc = line(int(y), int(x), y1, x1)
        for oy, ox in ((0, 0), (1, 0), (0, 1)):
            r2, c2 = np.clip(rr + oy, 0, h - 1), np.clip(cc + ox, 0, w - 1)
            keep = mask[r2, c2]
            rgb[r2[keep], c2[keep]] = (75, 30, 100)


TUMOUR_STYLES = {"ihc": _tumour_stain, "he": _tumour_crowded_nuclei,
                 "glands": _tumour_glands, "nuclei": _tumour_crowded_nuclei,
                 "strands": _tumour_strands}


def render_slide(height: int, width: int, tumour: bool, seed: int,
                 tissue_fraction: float = 0.7, tumour_size: float = 0.3, style: str = "ihc",
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Level-0 RGB image plus the tissue and tumour masks (same size); ``style`` picks the
    stain and tumour appearance (see the module docstring)."""
    if style not in TUMOUR_STYLES:
        raise ValueError(f"unknown slide style {style!r}; use one of {STYLES}")
    rng = np.random.default_rng(seed)
    tissue = _blob(height, width, height / 2, width / 2, tissue_fraction * height / 2,
                   tissue_fraction * width / 2, rng)
    rgb = np.full((height, width, 3), 242, np.uint8)
    rgb += rng.integers(0, 6, (height, width, 1), dtype=np.uint8)  # glass noise
    rgb[tissue] = _texture(height, width, rng, style)[tissue]
    tumour_mask = np.zeros_like(tissue)
    if tumour:
        ry, rx = tumour_size * height / 2, tumour_size * width / 2
        cy = rng.uniform(0.5 - tissue_fraction / 2 + tumour_size / 2,
                         0.5 + tissue_fraction / 2 - tumour_size / 2) * height
        cx = rng.uniform(0.5 - tissue_fraction / 2 + tumour_size / 2,
                         0.5 + tissue_fraction / 2 - tumour_size / 2) * width
        tumour_mask = _blob(height, width, cy, cx, ry, rx, rng) & tissue
        TUMOUR_STYLES[style](rgb, tumour_mask, rng)
    return rgb, tissue, tumour_mask


def write_pyramid_tiff(path: str | os.PathLike, rgb: np.ndarray, mpp: float,
                       downsamples: tuple[int, ...] = (1, 4, 16), tile: int = 128) -> None:
    """Write ``rgb`` as a tiled pyramidal TIFF readable by OpenSlide (atomically).

    Each level is a full page (OpenSlide's generic-TIFF layout) with resolution tags
    ``10_000 / (mpp * downsample)`` pixels per centimetre.
    """
    import tifffile
    from skimage.transform import downscale_local_mean

    with atomic_path(path) as tmp, tifffile.TiffWriter(tmp, bigtiff=False) as writer:
        for ds in downsamples:
            h, w = rgb.shape[0] // ds, rgb.shape[1] // ds
            level = rgb[:h * ds, :w * ds]
            if ds > 1:
                level = downscale_local_mean(level, (ds, ds, 1)).round().astype(np.uint8)
            px_per_cm = 10_000.0 / (mpp * ds)
            # subfiletype=1 marks a reduced-resolution page: OpenSlide's generic-TIFF
            # driver ignores later pages without it (measured: 1 level instead of 3).
            writer.write(level, tile=(tile, tile), photometric="rgb",
                         compression="zlib", resolution=(px_per_cm, px_per_cm),
                         resolutionunit="CENTIMETER", metadata=None,
                         subfiletype=1 if ds > 1 else 0)


def make_synthetic_slide(path: str | os.PathLike, tumour: bool, seed: int = 0,
                         size: tuple[int, int] = (1536, 2048), mpp: float = 0.5,
                         downsamples: tuple[int, ...] = (1, 4, 16),
                         mask_downsample: int = 16, tumour_size: float = 0.3,
                         style: str = "ihc") -> SyntheticSlide:
    """Render and write one synthetic slide; return its path and ground-truth masks."""
    height, width = size
    rgb, tissue, tumour_mask = render_slide(height, width, tumour, seed, tumour_size=tumour_size,
                                            style=style)
    write_pyramid_tiff(path, rgb, mpp, downsamples)
    d = mask_downsample
    return SyntheticSlide(Path(path), int(tumour_mask.any()), tissue[::d, ::d].copy(),
                          tumour_mask[::d, ::d].copy(), d, mpp)


def make_synthetic_cohort(folder: str | os.PathLike, num_slides: int, seed: int = 0,
                          size: tuple[int, int] = (1536, 2048), mpp: float = 0.5,
                          test_fraction: float = 1 / 3) -> list[SyntheticSlide]:
    """Write ``num_slides`` slides (alternating negative/positive) plus ``labels.csv``.

    ``labels.csv`` has columns ``slide_id,label,split``; the last ``test_fraction`` of the
    slides (rounded to an even count, so both classes) are ``test``, the rest ``train``.

    Also writes ``annotations/<slide_id>.npz`` (``mask``: tumour mask, ``downsample``) for
    the tile-level labels of the bag data set (see :mod:`zoo.datasets.wsi.bags`).
    """
    folder = Path(folder)
    slides = []
    rows = ["slide_id,label,split"]
    n_test = 2 * int(round(num_slides * test_fraction / 2))
    for i in range(num_slides):
        slide_id = f"slide_{i:03d}"
        s = make_synthetic_slide(folder / f"{slide_id}.tiff", tumour=bool(i % 2),
                                 seed=seed * 1000 + i, size=size, mpp=mpp)
        save_annotation(folder / "annotations" / f"{slide_id}.npz", s.tumour, s.mask_downsample)
        split = "test" if i >= num_slides - n_test else "train"
        rows.append(f"{slide_id},{s.label},{split}")
        slides.append(s)
    _atomic_text(folder / "labels.csv", "\n".join(rows) + "\n")
    return slides


def make_synthetic_task_cohort(folder: str | os.PathLike, styles: tuple[str, ...] = STYLES[:2],
                               slides_per_task: int = 16, seed: int = 0,
                               size: tuple[int, int] = (640, 896), mpp: float = 0.5,
                               test_fraction: float = 3 / 8, val_fraction: float = 0.0,
                               ) -> list[SyntheticSlide]:
    """One synthetic cohort per continual task, all in ``folder``.

    Task ``k`` (1-based) uses ``styles[k - 1]``; its slides are ``t<k>_slide_<i>.tiff``
    (alternating normal / tumour). Of each task the last ``test_fraction`` of the slides (an
    even count, so both classes) are ``test``, the ``val_fraction`` before them ``val``
    (a validation split of the training slides, for choosing epochs / learning rates), the
    rest ``train``. ``labels.csv`` has columns ``slide_id,label,split,task`` with task-local
    labels (0 normal, 1 tumour) and ``task`` = ``t<k>``; tumour masks go to ``annotations/``.
    Read one task with ``WSIBagDataset(..., task='t1')``.
    """
    unknown = [s for s in styles if s not in TUMOUR_STYLES]
    if unknown:
        raise ValueError(f"unknown slide style(s) {unknown}; use some of {STYLES}")
    folder = Path(folder)
    rows = ["slide_id,label,split,task"]
    slides = []
    n_test = 2 * int(round(slides_per_task * test_fraction / 2))
    n_val = 2 * int(round(slides_per_task * val_fraction / 2))
    if slides_per_task > 100:
        raise ValueError(f"slides_per_task={slides_per_task}: at most 100 (slide seeds are "
                         "seed * 1000 + 100 * task + index)")
    if n_test + n_val >= slides_per_task:
        raise ValueError(f"slides_per_task={slides_per_task} leaves no training slide with "
                         f"{n_test} test and {n_val} validation slides")
    for k, style in enumerate(styles, start=1):
        for i in range(slides_per_task):
            slide_id = f"t{k}_slide_{i:03d}"
            s = make_synthetic_slide(folder / f"{slide_id}.tiff", tumour=bool(i % 2),
                                     seed=seed * 1000 + 100 * k + i, size=size, mpp=mpp,
                                     style=style)
            save_annotation(folder / "annotations" / f"{slide_id}.npz", s.tumour,
                            s.mask_downsample)
            split = "test" if i >= slides_per_task - n_test else \
                "val" if i >= slides_per_task - n_test - n_val else "train"
            rows.append(f"{slide_id},{s.label},{split},t{k}")
            slides.append(s)
    _atomic_text(folder / "labels.csv", "\n".join(rows) + "\n")
    return slides


def save_annotation(path: str | os.PathLike, mask: np.ndarray, downsample: float) -> None:
    """Write a tumour annotation mask (``.npz``: ``mask`` bool, ``downsample``) atomically."""
    import io

    from zoo.fileio import atomic_write_bytes

    buffer = io.BytesIO()
    np.savez_compressed(buffer, mask=mask.astype(bool), downsample=np.float64(downsample))
    atomic_write_bytes(path, buffer.getvalue())


def _atomic_text(path: Path, text: str) -> None:
    from zoo.fileio import atomic_write_bytes

    atomic_write_bytes(path, text.encode())
