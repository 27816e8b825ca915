"""bf16 feature extraction (``extract_folder(amp=True)``, ``extract_features.py --amp``): the
encoder runs in bf16 past its RGB stem, features stay close to fp32 (cosine), and the
precision is a stored setting (issue 21)."""
from __future__ import annotations

import runpy
import shutil
from pathlib import Path

import pytest
import torch
from zoo.datasets.wsi.features import extract_folder, list_slides, load_bag

REPO = Path(__file__).resolve().parents[2]
KW = dict(target_mpp=1.0, tile_px=64, progress=False)


@pytest.fixture
def one_slide(cohort, tmp_path):
    folder, _ = cohort
    src = tmp_path / "slides"
    src.mkdir()
    first = list_slides(folder)[0]
    shutil.copy(first, src / first.name)
    return list_slides(src)


def test_amp_features_are_bf16_inside_and_close_to_fp32(one_slide, tiny_encoder, tmp_path):
    stem = tiny_encoder.body.conv1
    later = tiny_encoder.body.layer2[0].conv1
    seen = []
    hooks = [m.register_forward_hook(lambda m, a, out, n=n: seen.append((n, out.dtype)))
             for n, m in (("stem", stem), ("later", later))]
    try:
        extract_folder(one_slide, tmp_path / "fp32", tiny_encoder, **KW)
        assert set(seen) == {("stem", torch.float32), ("later", torch.float32)}
        seen.clear()
        extract_folder(one_slide, tmp_path / "bf16", tiny_encoder, amp=True, **KW)
        assert set(seen) == {("stem", torch.float32), ("later", torch.bfloat16)}
    finally:
        for h in hooks:
            h.remove()
    a = load_bag(tmp_path / "fp32" / "slide_000.pt")
    b = load_bag(tmp_path / "bf16" / "slide_000.pt")
    assert b["features"].dtype == torch.float32 and b["features"].shape == a["features"].shape
    assert a["settings"]["precision"] == "fp32" and b["settings"]["precision"] == "bf16"
    cos = torch.nn.functional.cosine_similarity(a["features"], b["features"], dim=1)
    assert not torch.equal(a["features"], b["features"])  # bf16 did run
    assert cos.min() > 0.995, cos.min()


def test_a_run_in_the_other_precision_is_refused(one_slide, tmp_path, capsys):
    main = runpy.run_path(str(REPO / "tools" / "wsi" / "extract_features.py"))["main"]
    common = ["--backbone", "resnet18", "--out-index", "1", "--tile-px", "64", "--mpp", "1.0",
              "--threads", "1"]
    out = tmp_path / "feats"
    with pytest.warns(UserWarning, match="random initial weights"):
        assert main([str(one_slide[0]), str(out), *common, "--amp"]) == 0
    assert load_bag(out / "slide_000.pt")["settings"]["precision"] == "bf16"
    with pytest.warns(UserWarning):
        assert main([str(one_slide[0]), str(out), *common]) == 2
    assert "precision 'bf16' in the file, 'fp32' now" in capsys.readouterr().err
