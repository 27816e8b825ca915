"""Slide reading, tissue mask, tile grid and bad-slide errors on tifffile-written pyramids."""
from __future__ import annotations

import numpy as np
import pytest
from zoo.datasets.wsi.slide import (
    MagnificationError,
    NoTissueError,
    SlideError,
    open_slide,
    read_tile,
    slide_mpp,
    tile_grid,
    tissue_mask,
)
from zoo.datasets.wsi.synthetic import write_pyramid_tiff


def test_pyramid_levels_and_mpp(cohort):
    _, slides = cohort
    slide = open_slide(slides[0].path)
    assert slide.level_count == 3
    assert slide.level_dimensions[0] == (768, 512)
    assert [round(d) for d in slide.level_downsamples] == [1, 4, 16]
    assert slide_mpp(slide) == pytest.approx(0.5)


def test_tissue_mask_matches_truth(cohort):
    _, slides = cohort
    s = slides[1]
    mask = tissue_mask(open_slide(s.path), str(s.path))
    step = int(s.mask_downsample / mask.downsample[0])
    pred = mask.mask[::step, ::step][: s.tissue.shape[0], : s.tissue.shape[1]]
    iou = (pred & s.tissue).sum() / (pred | s.tissue).sum()
    assert iou > 0.6, iou
    # nothing outside the tissue blob is called tissue
    assert (pred & ~s.tissue).sum() / pred.sum() < 0.05


def test_tile_grid_at_mpp(cohort):
    _, slides = cohort
    s = slides[1]
    slide = open_slide(s.path)
    mask = tissue_mask(slide)
    fine = tile_grid(slide, mask, 0.5, tile_px=64, min_tissue=0.5)
    coarse = tile_grid(slide, mask, 2.0, tile_px=64, min_tissue=0.5)
    assert fine.size0 == 64 and fine.level == 0
    assert coarse.size0 == 256 and coarse.level == 1 and coarse.level_size == 64
    assert (fine.tissue_fraction >= 0.5).all()
    assert len(fine.coords) > 4 * len(coarse.coords) * 0.8
    tile = read_tile(slide, coarse, 0)
    assert tile.shape == (64, 64, 3) and tile.dtype == np.uint8
    strict = tile_grid(slide, mask, 0.5, tile_px=64, min_tissue=0.95)
    assert len(strict.coords) < len(fine.coords)


def test_finer_than_level0_is_refused(cohort):
    _, slides = cohort
    slide = open_slide(slides[0].path)
    with pytest.raises(MagnificationError, match="upsampling"):
        tile_grid(slide, tissue_mask(slide), 0.25, tile_px=64)


def test_slide_without_resolution(tmp_path):
    import tifffile

    rgb = np.full((256, 256, 3), 240, np.uint8)
    rgb[64:192, 64:192] = (150, 60, 40)
    path = tmp_path / "nores.tiff"
    tifffile.imwrite(path, rgb, tile=(128, 128), photometric="rgb")
    slide = open_slide(path)
    with pytest.raises(MagnificationError, match=str(path)):
        slide_mpp(slide, str(path))
    assert slide_mpp(slide, str(path), assume_mpp=0.25) == 0.25


def test_bad_files_named(tmp_path):
    junk = tmp_path / "junk.svs"
    junk.write_bytes(b"not a slide at all")
    with pytest.raises(SlideError, match="junk.svs"):
        open_slide(junk)
    with pytest.raises(SlideError, match="does not exist"):
        open_slide(tmp_path / "missing.tiff")
    blank = tmp_path / "blank.tiff"
    write_pyramid_tiff(blank, np.full((256, 384, 3), 243, np.uint8), 0.5)
    with pytest.raises(NoTissueError, match="blank.tiff"):
        tissue_mask(open_slide(blank), str(blank))
