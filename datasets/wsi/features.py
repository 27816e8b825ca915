"""Per-slide feature extraction: tissue mask -> tile grid -> encoder -> ``<slide_id>.pt``.

A feature file (one per slide, written atomically, read with ``weights_only=True``) holds:

* ``features`` float32 ``[N, D]``, ``coords`` int64 ``[N, 2]`` (level-0 ``x, y`` of each tile),
* ``tile_size0`` (tile side in level-0 pixels), ``tile_px``, ``mpp`` (of the tiles),
  ``base_mpp`` (level 0), ``tissue_fraction`` float32 ``[N]``, ``slide`` (path), ``encoder``.

:func:`extract_folder` processes a list of slides: finished slides (file present) are skipped,
so an interrupted run continues at the next unfinished slide; a bad slide (corrupt, no
resolution, no tissue) is reported by name and the batch continues. ``shard=(i, n)`` processes
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
                  progress: bool = True, report: ExtractionReport | None = None) -> dict:
    """Features of one slide (raises :class:`SlideError` subclasses for unusable slides)."""
    from tqdm import tqdm

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
    for path in tqdm(mine, desc=f"slides (shard {shard[0]}/{shard[1]})", unit="slide",
                     disable=not progress):
        sid = slide_id_of(path)
        target = out_dir / f"{sid}.pt"
        if target.exists() and not overwrite:
            report.skipped.append(sid)
            continue
        try:
            bag = extract_slide(path, encoder, progress=progress, report=report, **kwargs)
        except SlideError as exc:
            report.failed[sid] = str(exc)
            logger.warning(f"skipping slide {exc}")
            continue
        save_bag(target, bag)
        report.done.append(sid)
    if report.failed:
        from zoo.fileio import atomic_write_bytes

        atomic_write_bytes(out_dir / f"errors_{shard[0]}of{shard[1]}.json",
                           json.dumps(report.failed, indent=1).encode())
    return report
