"""Per-slide feature extraction: tissue mask -> tile grid -> encoder -> ``<slide_id>.pt``.

A feature file (one per slide, written atomically, read with ``weights_only=True``) holds:

* ``features`` float32 ``[N, D]``, ``coords`` int64 ``[N, 2]`` (level-0 ``x, y`` of each tile),
* ``tile_size0`` (tile side in level-0 pixels), ``tile_px``, ``mpp`` (of the tiles),
  ``base_mpp`` (level 0), ``level``, ``tissue_fraction`` float32 ``[N]``, ``slide`` (path),
  ``encoder``, and ``settings``: the extraction settings (backbone, out_index, weights,
  target_mpp, tile_px, min_tissue, assume_mpp, precision; :func:`extraction_settings`).

:func:`extract_folder` processes a list of slides: a finished slide (its file loads and was
made with the same settings) is skipped, so an interrupted run continues at the next
unfinished slide; an unreadable (e.g. truncated) file is extracted again; files made with
other settings stop the run before any work (:class:`FeatureSettingsError`) unless
``overwrite``; a bad slide (corrupt, no resolution, no tissue) is reported by name and the
batch continues. ``shard=(i, n)`` processes
every n-th slide starting at i, for several processes or ``torchrun`` ranks.
"""
from __future__ import annotations

import io
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .slide import SlideError, open_slide, read_tile, tile_grid, tissue_mask

SLIDE_EXTENSIONS = (".svs", ".tif", ".tiff", ".ndpi", ".vms", ".vmu", ".scn", ".mrxs",
                    ".svslide", ".bif", ".dcm")


def slide_id_of(path: str | os.PathLike) -> str:
    return Path(path).name.rsplit(".", 1)[0]


def list_slides(folder: str | os.PathLike, extensions=SLIDE_EXTENSIONS) -> list[Path]:
    """Slide files directly in ``folder``, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"slide folder {folder} does not exist")
    return sorted(p for p in folder.iterdir() if p.is_file() and
                  p.suffix.lower() in extensions and not p.name.startswith("."))


def resolve_slides(source: str | os.PathLike, extensions=SLIDE_EXTENSIONS) -> list[Path]:
    """The slides named by ``source``: a folder (its slide files), one slide file, or a text
    file with one slide path a line. Raises ``FileNotFoundError`` / ``ValueError`` naming
    ``source`` when it is missing, holds no slide, or is none of these."""
    source = Path(source)
    if source.is_dir():
        slides = list_slides(source, extensions)
        if not slides:
            raise FileNotFoundError(f"slide folder {source} holds no slide files (extensions "
                                    f"{', '.join(extensions)})")
        return slides
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist (expected a slide folder, a slide "
                                "file or a text file listing slides)")
    if source.suffix.lower() in extensions:
        return [source]
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise ValueError(f"{source} is not a slide folder, a slide file (extensions "
                         f"{', '.join(extensions)}) or a text file listing slides (it is not "
                         "UTF-8 text)") from None
    slides = [Path(line.strip()) for line in lines if line.strip()]
    if not slides:
        raise ValueError(f"{source}: the slide list is empty (one slide path a line)")
    return slides


def save_bag(path: str | os.PathLike, bag: dict) -> None:
    """Write one slide's feature dict atomically (``torch.save`` to a temp name + rename)."""
    from zoo.fileio import atomic_write_bytes

    buffer = io.BytesIO()
    torch.save(bag, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_bag(path: str | os.PathLike) -> dict:
    """Read a feature file with ``weights_only=True`` and check its keys and shapes."""
    from zoo.checkpoint import safe_torch_load

    bag = safe_torch_load(str(path))
    if not isinstance(bag, dict):
        raise ValueError(f"{path}: feature file must hold a dict, got {type(bag).__name__}")
    for key in ("features", "coords"):
        if key not in bag:
            raise KeyError(f"{path}: feature file lacks {key!r} (has {sorted(bag)})")
    feats, coords = bag["features"], bag["coords"]
    if feats.dim() != 2 or coords.shape != (feats.shape[0], 2):
        raise ValueError(f"{path}: features {tuple(feats.shape)} and coords "
                         f"{tuple(coords.shape)} must be [N, D] and [N, 2]")
    return bag


class _TileReader(torch.utils.data.Dataset):
    """Tiles of one slide; each DataLoader worker opens its own OpenSlide handle."""

    def __init__(self, path: str, grid):
        self.path, self.grid, self._slide = path, grid, None

    def __len__(self) -> int:
        return len(self.grid.coords)

    def __getitem__(self, index: int) -> torch.Tensor:
        if self._slide is None:
            self._slide = open_slide(self.path)
        return torch.from_numpy(read_tile(self._slide, self.grid, index).copy())


@dataclass
class ExtractionReport:
    """What :func:`extract_folder` did: slide ids done, skipped, failed (with messages)."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    tiles: int = 0
    read_seconds: float = 0.0
    encode_seconds: float = 0.0


def extract_slide(path: str | os.PathLike, encoder: torch.nn.Module, target_mpp: float = 0.5,
                  tile_px: int = 224, min_tissue: float = 0.5, batch_size: int = 64,
                  num_workers: int = 0, assume_mpp: float | None = None,
                  progress: bool = True, report: ExtractionReport | None = None,
                  amp: bool = False) -> dict:
    """Features of one slide (raises :class:`SlideError` subclasses for unusable slides).

    ``amp``: the encoder runs under bf16 autocast (:func:`zoo.engine.amp.bf16_autocast`: its
    first convolution on the RGB tiles stays fp32); features are stored as float32."""
    from tqdm import tqdm

    from zoo.engine.amp import bf16_autocast

    path = os.fspath(path)
    slide = open_slide(path)
    try:
        mask = tissue_mask(slide, path)
        grid = tile_grid(slide, mask, target_mpp, tile_px, min_tissue, path, assume_mpp)
    finally:
        slide.close()
    loader = torch.utils.data.DataLoader(_TileReader(path, grid), batch_size=batch_size,
                                         num_workers=num_workers)
    device = next(encoder.parameters()).device
    feats = []
    t_read = time.perf_counter()
    read_s = enc_s = 0.0
    bar = tqdm(total=len(grid.coords), desc=slide_id_of(path), unit="tile", disable=not progress,
               leave=False)
    for tiles in loader:
        t0 = time.perf_counter()
        read_s += t0 - t_read
        with bf16_autocast(encoder, enabled=amp):
            feats.append(encoder(tiles.to(device)).float().cpu())
        t_read = time.perf_counter()
        enc_s += t_read - t0
        bar.update(len(tiles))
    bar.close()
    if report is not None:
        report.tiles += len(grid.coords)
        report.read_seconds += read_s
        report.encode_seconds += enc_s
    return dict(features=torch.cat(feats), coords=torch.from_numpy(grid.coords),
                tissue_fraction=torch.from_numpy(grid.tissue_fraction.astype(np.float32)),
                tile_size0=int(grid.size0), tile_px=int(tile_px), mpp=float(target_mpp),
                base_mpp=float(grid.base_mpp), level=int(grid.level), slide=path,
                encoder=str(getattr(encoder, "name", type(encoder).__name__)))


class FeatureSettingsError(ValueError):
    """Existing feature files were made with other extraction settings."""


def extraction_settings(encoder: torch.nn.Module, target_mpp: float = 0.5, tile_px: int = 224,
                        min_tissue: float = 0.5, assume_mpp: float | None = None,
                        amp: bool = False, **_ignored) -> dict:
    """What decides a slide's features: the encoder (timm name, stage, weights source, bf16
    or fp32 arithmetic) and the tiling (target um/px, tile side, tissue threshold, assumed
    level-0 um/px)."""
    weights = getattr(encoder, "weights", None)
    return dict(backbone=str(getattr(encoder, "name", type(encoder).__name__)),
                out_index=getattr(encoder, "out_index", None),
                weights=None if weights is None else str(weights),
                target_mpp=float(target_mpp), tile_px=int(tile_px),
                min_tissue=float(min_tissue),
                assume_mpp=None if assume_mpp is None else float(assume_mpp),
                precision="bf16" if amp else "fp32")


def settings_difference(bag: dict, settings: dict) -> dict[str, tuple]:
    """``{name: (in the file, wanted)}`` for the settings a feature file disagrees on.

    Files written before settings were stored are compared on what they hold (``encoder``,
    ``tile_px``, ``mpp``)."""
    stored = bag.get("settings")
    if not isinstance(stored, dict):
        stored = {"backbone": bag.get("encoder"), "tile_px": bag.get("tile_px"),
                  "target_mpp": bag.get("mpp")}
    return {k: (stored[k], v) for k, v in settings.items()
            if k in stored and stored[k] != v}


def _check_existing(targets: dict[str, Path], settings: dict, logger) -> set[str]:
    """Slide ids whose file is finished (loads, same settings). Unreadable files are left to
    be extracted again; files with other settings raise :class:`FeatureSettingsError`."""
    done, differing = set(), []
    for sid, target in targets.items():
        try:
            bag = load_bag(target)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is simply redone
            logger.warning(f"{target} is unreadable ({type(exc).__name__}: {exc}); "
                           "extracting it again")
            continue
        diff = settings_difference(bag, settings)
        if diff:
            differing.append((target, diff))
        else:
            done.add(sid)
    if differing:
        lines = "; ".join(f"{t.name}: " + ", ".join(f"{k} {a!r} in the file, {b!r} now"
                                                  for k, (a, b) in d.items())
                          for t, d in differing[:5])
        more = f" (and {len(differing) - 5} more)" if len(differing) > 5 else ""
        raise FeatureSettingsError(
            f"{len(differing)} feature file(s) in {targets[next(iter(targets))].parent} were "
            f"extracted with other settings: {lines}{more}. Use another output folder, or "
            "pass --overwrite (overwrite=True) to extract them again")
    return done


def shard_of(items: list, shard: tuple[int, int]) -> list:
    index, count = shard
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard must be i/n with 0 <= i < n, got {index}/{count}")
    return items[index::count]


def extract_folder(slides: list[str | os.PathLike], out_dir: str | os.PathLike,
                   encoder: torch.nn.Module, shard: tuple[int, int] = (0, 1),
                   overwrite: bool = False, progress: bool = True, **kwargs) -> ExtractionReport:
    """Extract every slide of this shard into ``out_dir/<slide_id>.pt``; resumable.

    Failures are collected (and written to ``out_dir/errors_<i>of<n>.json``) rather than
    raised, so one bad slide does not stop the batch.
    """
    from mmengine.logging import MMLogger
    from tqdm import tqdm

    logger = MMLogger.get_current_instance()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = ExtractionReport()
    mine = shard_of(sorted(map(str, slides)), shard)
    ids = [slide_id_of(p) for p in mine]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise ValueError(f"slide ids are not unique (same name, other extension): {sorted(dup)}")
    settings = extraction_settings(encoder, **kwargs)
    existing = {sid: out_dir / f"{sid}.pt" for sid in ids if (out_dir / f"{sid}.pt").exists()}
    finished = set() if overwrite or not existing else _check_existing(existing, settings,
                                                                        logger)
    for path in tqdm(mine, desc=f"slides (shard {shard[0]}/{shard[1]})", unit="slide",
                     disable=not progress):
        sid = slide_id_of(path)
        target = out_dir / f"{sid}.pt"
        if sid in finished:
            report.skipped.append(sid)
            continue
        try:
            bag = extract_slide(path, encoder, progress=progress, report=report, **kwargs)
        except SlideError as exc:
            report.failed[sid] = str(exc)
            logger.warning(f"skipping slide {exc}")
            continue
        bag["settings"] = settings
        save_bag(target, bag)
        report.done.append(sid)
    if report.failed:
        from zoo.fileio import atomic_write_bytes

        atomic_write_bytes(out_dir / f"errors_{shard[0]}of{shard[1]}.json",
                           json.dumps(report.failed, indent=1).encode())
    return report
