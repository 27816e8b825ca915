"""Feature extraction: file format, resumability, bad slides, sharding, the CLI."""
from __future__ import annotations

import runpy
import shutil
from pathlib import Path

import pytest
import torch
from zoo.datasets.wsi.features import extract_folder, list_slides, load_bag, shard_of

REPO = Path(__file__).resolve().parents[2]


def test_feature_files(cohort_features, cohort):
    folder, slides = cohort
    files = sorted(cohort_features.glob("*.pt"))
    assert [f.stem for f in files] == [s.path.stem for s in slides]
    bag = load_bag(files[1])
    assert bag["features"].shape[1] == 128 and bag["features"].dtype == torch.float32
    assert bag["coords"].shape == (bag["features"].shape[0], 2)
    assert bag["tile_size0"] == 64 and bag["mpp"] == 0.5
    assert torch.isfinite(bag["features"]).all()
    # coordinates lie on the 64-px grid inside the slide
    assert (bag["coords"] % 64 == 0).all() and bag["coords"][:, 0].max() <= 768 - 64


def test_resume_bad_slides_and_shards(cohort, tiny_encoder, tmp_path):
    folder, _ = cohort
    src = tmp_path / "slides"
    src.mkdir()
    for p in list_slides(folder)[:3]:
        shutil.copy(p, src / p.name)
    (src / "broken.tiff").write_bytes(b"II*\x00garbage")
    out = tmp_path / "feats"
    kw = dict(target_mpp=1.0, tile_px=64, progress=False)
    first = extract_folder(list_slides(src), out, tiny_encoder, **kw)
    assert sorted(first.done) == ["slide_000", "slide_001", "slide_002"]
    assert set(first.failed) == {"broken"} and "broken.tiff" in first.failed["broken"]
    assert (out / "errors_0of1.json").is_file()
    (out / "slide_001.pt").unlink()  # as if interrupted before this slide
    again = extract_folder(list_slides(src), out, tiny_encoder, **kw)
    assert again.done == ["slide_001"] and sorted(again.skipped) == ["slide_000", "slide_002"]
    assert not list(out.glob(".*.tmp"))
    # shards partition the slide list
    names = [f"s{i}" for i in range(7)]
    parts = [shard_of(names, (i, 3)) for i in range(3)]
    assert sorted(sum(parts, [])) == names and len(set(parts[0]) & set(parts[1])) == 0
    with pytest.raises(ValueError, match="shard"):
        shard_of(names, (3, 3))


def test_cli_shards(cohort, tmp_path, monkeypatch):
    main = runpy.run_path(str(REPO / "tools" / "wsi" / "extract_features.py"))["main"]
    folder, _ = cohort
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(str(p) for p in list_slides(folder)[:2]) + "\n")
    out = tmp_path / "cli"
    common = [str(listing), str(out), "--backbone", "resnet18", "--out-index", "1",
              "--tile-px", "32", "--mpp", "2.0", "--threads", "1"]
    with pytest.warns(UserWarning, match="random initial weights"):
        assert main(common + ["--shard", "0/2"]) == 0
    assert [p.stem for p in out.glob("*.pt")] == ["slide_000"]
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    with pytest.warns(UserWarning):
        assert main(common) == 0
    assert sorted(p.stem for p in out.glob("*.pt")) == ["slide_000", "slide_001"]
    assert load_bag(out / "slide_001.pt")["features"].shape[1] == 64
