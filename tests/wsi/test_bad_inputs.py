"""Issue 9 "bad input" must-show: in one batch a corrupt file, a non-slide file, a slide
without resolution metadata, a slide too coarse for the requested magnification and a slide
without tissue are each reported by name with the reason, and the good slide is extracted."""
from __future__ import annotations

import json
import runpy
import shutil
from pathlib import Path

import numpy as np
from zoo.datasets.wsi.features import extract_folder, list_slides
from zoo.datasets.wsi.synthetic import render_slide, write_pyramid_tiff

REPO = Path(__file__).resolve().parents[2]


def _bad_batch(cohort, tmp_path: Path) -> Path:
    import tifffile

    folder, slides = cohort
    src = tmp_path / "batch"
    src.mkdir()
    shutil.copy(slides[1].path, src / "good.tiff")
    (src / "corrupt.tiff").write_bytes(slides[1].path.read_bytes()[:600])  # truncated TIFF
    (src / "notes.svs").write_text("this is a text file, not a slide\n")
    rgb, _, _ = render_slide(256, 384, tumour=False, seed=1)
    tifffile.imwrite(src / "nores.tiff", rgb, tile=(128, 128), photometric="rgb")
    write_pyramid_tiff(src / "coarse.tiff", rgb, mpp=2.0)  # 5x slide, 20x requested
    write_pyramid_tiff(src / "blank.tiff", np.full((256, 384, 3), 243, np.uint8), 0.5)
    return src


def test_batch_names_each_bad_slide_and_continues(cohort, tiny_encoder, tmp_path):
    src = _bad_batch(cohort, tmp_path)
    out = tmp_path / "feats"
    report = extract_folder(list_slides(src), out, tiny_encoder, target_mpp=0.5, tile_px=64,
                            progress=False)
    assert report.done == ["good"] and (out / "good.pt").is_file()
    failed = report.failed
    assert set(failed) == {"corrupt", "notes", "nores", "coarse", "blank"}
    for sid, msg in failed.items():
        assert sid in msg, msg  # every message names its file
    assert "OpenSlide" in failed["corrupt"] or "not a slide" in failed["corrupt"]
    assert "not a slide format" in failed["notes"]
    assert "no microns-per-pixel" in failed["nores"]
    assert "upsampling is refused" in failed["coarse"] and "0.5 um/px" in failed["coarse"]
    assert "no tissue" in failed["blank"]
    written = json.loads((out / "errors_0of1.json").read_text())
    assert written == failed


def test_cli_reports_bad_slides(cohort, tmp_path, capsys):
    import pytest

    main = runpy.run_path(str(REPO / "tools" / "wsi" / "extract_features.py"))["main"]
    src = _bad_batch(cohort, tmp_path)
    out = tmp_path / "cli"
    with pytest.warns(UserWarning, match="random initial weights"):
        code = main([str(src), str(out), "--backbone", "resnet18", "--out-index", "1",
                     "--tile-px", "64", "--mpp", "0.5", "--threads", "1"])
    assert code == 0  # the good slide was extracted
    err = capsys.readouterr().err
    for sid in ("corrupt", "notes", "nores", "coarse", "blank"):
        assert f"FAILED {sid}:" in err
    assert [p.stem for p in out.glob("*.pt")] == ["good"]
