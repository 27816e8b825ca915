"""tools/test.py --heatmap-dir: sets MILMetric's heatmap_dir, refuses evaluators without it."""
from __future__ import annotations

import runpy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

REPO = Path(__file__).resolve().parents[2]
TOOL = runpy.run_path(str(REPO / "tools" / "test.py"))


def test_set_heatmap_dir_on_mil_metric_only():
    set_heatmap_dir = TOOL["set_heatmap_dir"]
    cfg = Config(dict(test_evaluator=dict(type="MILMetric")))
    assert set_heatmap_dir(cfg, "/tmp/h", "mil.py") == 1
    assert cfg.test_evaluator.heatmap_dir == "/tmp/h"
    cfg = Config(dict(test_evaluator=[dict(type="AccMetric"), dict(type="MILMetric")]))
    assert set_heatmap_dir(cfg, "/tmp/h") == 1 and cfg.test_evaluator[1].heatmap_dir == "/tmp/h"
    assert "heatmap_dir" not in cfg.test_evaluator[0]
    with pytest.raises(ValueError, match=r"digits\.py.*not supported.*AccMetric"):
        set_heatmap_dir(Config(dict(test_evaluator=dict(type="AccMetric"))), "/tmp/h",
                        "digits.py")
    with pytest.raises(ValueError, match="no"):
        set_heatmap_dir(Config(dict()), "/tmp/h")


def test_test_tool_writes_one_heatmap_per_slide(cohort, cohort_features, tmp_path):
    from zoo.models.mil import ABMIL

    folder, slides = cohort
    torch.manual_seed(0)
    model = ABMIL(in_dim=128, embed_dim=128, attn_dim=64, num_classes=2, dropout=0.1)
    ckpt = tmp_path / "abmil.pth"
    torch.save({"state_dict": model.state_dict(), "meta": {}}, ckpt)
    out = tmp_path / "heatmaps"
    ds = "test_dataloader.dataset."
    metrics = TOOL["main"]([
        str(REPO / "configs/wsi/abmil_synthetic.py"), str(ckpt), "--work-dir",
        str(tmp_path / "work"), "--heatmap-dir", str(out), "--cfg-options",
        f"{ds}feature_dir={cohort_features}", f"{ds}label_csv={folder / 'labels.csv'}",
        f"{ds}annotation_dir={folder / 'annotations'}"])
    assert "bag_acc" in metrics
    test_ids = {s.path.stem for s in slides[-2:]}  # the cohort's test split
    assert {p.stem for p in out.glob("*.png")} == test_ids
    with pytest.raises(ValueError, match="not supported"):
        TOOL["main"]([str(REPO / "configs/image/smallcnn_digits.py"), str(ckpt),
                      "--heatmap-dir", str(out)])
