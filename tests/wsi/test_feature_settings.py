"""Feature files carry their extraction settings: a re-run with other settings is refused, a
truncated file is extracted again (issue 18 item 6); the CLI takes one slide file and fails
on an empty folder (items 9 and 10)."""
from __future__ import annotations

import io
import runpy
import shutil
import warnings
from pathlib import Path

import pytest
import torch
from zoo.datasets.wsi.features import (
    FeatureSettingsError,
    extract_folder,
    list_slides,
    load_bag,
    save_bag,
)

REPO = Path(__file__).resolve().parents[2]
KW = dict(target_mpp=1.0, tile_px=64, progress=False)


@pytest.fixture
def two_slides(cohort, tmp_path):
    folder, _ = cohort
    src = tmp_path / "slides"
    src.mkdir()
    for p in list_slides(folder)[:2]:
        shutil.copy(p, src / p.name)
    return list_slides(src)


def snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.pt"))}


def test_settings_are_stored_and_other_settings_are_refused(two_slides, tiny_encoder,
                                                            tmp_path):
    out = tmp_path / "feats"
    first = extract_folder(two_slides, out, tiny_encoder, **KW)
    assert sorted(first.done) == ["slide_000", "slide_001"]
    settings = load_bag(out / "slide_000.pt")["settings"]
    assert settings == dict(backbone="resnet18", out_index=2, weights=None, target_mpp=1.0,
                            tile_px=64, min_tissue=0.5, assume_mpp=None, precision="fp32")
    before = snapshot(out)

    again = extract_folder(two_slides, out, tiny_encoder, **KW)
    assert sorted(again.skipped) == ["slide_000", "slide_001"] and again.done == []

    with pytest.raises(FeatureSettingsError, match=r"slide_000\.pt: tile_px 64 in the file, "
                                                   r"32 now.*--overwrite"):
        extract_folder(two_slides, out, tiny_encoder, **dict(KW, tile_px=32))
    from zoo.models.mil.encoder import TileEncoder

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other = TileEncoder("resnet18", out_index=1)
    with pytest.raises(FeatureSettingsError, match=r"out_index 2 in the file, 1 now"):
        extract_folder(two_slides, out, other, **KW)
    assert snapshot(out) == before  # refused before touching anything

    redone = extract_folder(two_slides, out, other, overwrite=True, **KW)
    assert sorted(redone.done) == ["slide_000", "slide_001"]
    bag = load_bag(out / "slide_001.pt")
    assert bag["settings"]["out_index"] == 1 and bag["features"].shape[1] == 64


def test_truncated_file_is_extracted_again(two_slides, tiny_encoder, tmp_path):
    out = tmp_path / "feats"
    extract_folder(two_slides, out, tiny_encoder, **KW)
    good = (out / "slide_001.pt").read_bytes()
    target = out / "slide_001.pt"
    target.write_bytes(good[: len(good) // 2])
    with pytest.raises((RuntimeError, ValueError, OSError)):  # truncated: unreadable
        load_bag(target)
    report = extract_folder(two_slides, out, tiny_encoder, **KW)
    assert report.done == ["slide_001"] and report.skipped == ["slide_000"]
    torch.testing.assert_close(load_bag(target)["features"],
                               torch.load(io.BytesIO(good))["features"])


def test_files_of_an_older_zoo_are_compared_on_what_they_hold(two_slides, tiny_encoder,
                                                             tmp_path):
    out = tmp_path / "feats"
    extract_folder(two_slides, out, tiny_encoder, **KW)
    for path in out.glob("*.pt"):
        bag = load_bag(path)
        del bag["settings"]
        save_bag(path, bag)
    assert len(extract_folder(two_slides, out, tiny_encoder, **KW).skipped) == 2
    with pytest.raises(FeatureSettingsError, match="target_mpp 1.0 in the file, 2.0 now"):
        extract_folder(two_slides, out, tiny_encoder, **dict(KW, target_mpp=2.0))


def test_cli_single_slide_file_and_empty_folder(two_slides, tmp_path, capsys):
    main = runpy.run_path(str(REPO / "tools" / "wsi" / "extract_features.py"))["main"]
    common = ["--backbone", "resnet18", "--out-index", "1", "--tile-px", "64", "--mpp", "1.0",
              "--threads", "1"]
    out = tmp_path / "one"
    with pytest.warns(UserWarning, match="random initial weights"):
        assert main([str(two_slides[0]), str(out), *common]) == 0
    assert [p.name for p in out.glob("*.pt")] == [two_slides[0].stem + ".pt"]

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no slides here")
    assert main([str(empty), str(tmp_path / "none"), *common]) == 2
    err = capsys.readouterr().err
    assert f"slide folder {empty} holds no slide files" in err

    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    assert main([str(binary), str(tmp_path / "none"), *common]) == 2
    assert f"{binary} is not a slide folder, a slide file" in capsys.readouterr().err

    with pytest.warns(UserWarning):
        assert main([str(two_slides[0]), str(out), *common, "--tile-px", "32"]) == 2
    assert "tile_px 64 in the file, 32 now" in capsys.readouterr().err
