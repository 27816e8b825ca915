"""Evaluation protocols: class-balanced label fractions, weighted k-NN, and ``load_from`` of a
pre-trained encoder in recogniser configs."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from zoo.datasets.skeleton.base import label_subset

from zoo.evaluation.knn import knn_predict
from zoo.registry import DATASETS, MODELS

init_default_scope("zoo")
CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_label_subset_is_class_balanced_seeded_and_keeps_one_per_class():
    samples = [dict(frame_dir=f"s{i}", label=i % 4) for i in range(40)]  # 10 per class
    ten = label_subset(samples, 0.1, seed=0)
    assert Counter(s["label"] for s in ten) == {0: 1, 1: 1, 2: 1, 3: 1}
    half = label_subset(samples, 0.5, seed=0)
    assert Counter(s["label"] for s in half) == {0: 5, 1: 5, 2: 5, 3: 5}
    assert [s["frame_dir"] for s in half] == sorted((s["frame_dir"] for s in half),
                                                    key=lambda n: int(n[1:]))  # order kept
    assert label_subset(samples, 0.5, seed=0) == half
    assert label_subset(samples, 0.5, seed=1) != half
    # 1 % of 10 per class rounds to 0: one clip per class is kept
    assert len(label_subset(samples, 0.01, seed=0)) == 4
    ds = DATASETS.build(dict(type="SyntheticSkeletonActions", split="train", num_per_class=20,
                             num_classes=5, frames=(20, 24), label_fraction=0.1,
                             label_seed=3))
    assert len(ds) == 10 and Counter(ds[i]["label"] for i in range(10)) == {c: 2 for c in
                                                                             range(5)}
    with pytest.raises(ValueError, match="label_fraction"):
        DATASETS.build(dict(type="SyntheticSkeletonActions", label_fraction=0.0))


def test_weighted_knn_on_a_hand_case():
    train = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 1.0]])
    labels = torch.tensor([0, 0, 1, 1])
    test = torch.tensor([[1.0, 0.05], [0.2, 1.0]])
    scores = knn_predict(train, labels, test, num_classes=2, k=3, temperature=0.1)
    assert scores.argmax(1).tolist() == [0, 1]
    # test 0: neighbours 0, 1 (class 0) and 3 (class 1), weights exp(cos / 0.1)
    t0 = torch.nn.functional.normalize(test[:1], dim=1)
    cos = (t0 @ torch.nn.functional.normalize(train, dim=1).T)[0]
    expected0 = torch.exp(cos[0] / 0.1) + torch.exp(cos[1] / 0.1)
    torch.testing.assert_close(scores[0, 0], expected0)
    torch.testing.assert_close(scores[0, 1], torch.exp(cos[3] / 0.1))


@pytest.mark.parametrize("recogniser", [
    "selfsup/stgcn_msr3d_linear.py", "selfsup/stgcn_msr3d_finetune.py",
    "skeleton/stgcn_msr3d_xsub.py", "skeleton/ctrgcn_msr3d_xsub.py",
])
@pytest.mark.parametrize("method", ["HiCLR", "SkeletonMAE"])
def test_load_from_a_pretrained_encoder_in_recogniser_configs(tmp_path, recogniser, method):
    cfg = Config.fromfile(CONFIGS / recogniser)
    backbone = cfg.model.backbone.to_dict()
    if method == "HiCLR":
        pre = dict(type="HiCLR", backbone=backbone, queue_size=8)
    else:
        stride = 4 if backbone["type"] == "STGCN" and len(backbone.get("down_stages", (5, 8))) \
            == 2 else 1
        pre = dict(type="SkeletonMAE", backbone=backbone, layout="kinect20",
                   temporal_stride=stride)
    torch.manual_seed(5)
    model = MODELS.build(pre)
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(torch.randn_like(p))
    ckpt = tmp_path / "pretrained.pth"
    torch.save({"state_dict": model.state_dict(), "meta": {}}, ckpt)
    cfg.load_from, cfg.work_dir = str(ckpt), str(tmp_path / "work")
    cfg.pop("val_dataloader", None), cfg.pop("val_cfg", None), cfg.pop("val_evaluator", None)
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    loaded = runner.model.backbone.state_dict()
    for key, value in model.backbone.state_dict().items():
        torch.testing.assert_close(loaded[key], value, msg=f"{recogniser}: {key}")


@pytest.mark.parametrize("name", sorted(p.name for p in (CONFIGS / "selfsup").glob("*.py")))
def test_every_selfsup_config_builds_its_model(name):
    cfg = Config.fromfile(CONFIGS / "selfsup" / name)
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.backbone.parameters()) > 0
    if "semi" in name:  # semi10 / semi1: the label fraction in the name
        fraction = int(name.split("semi")[1].split(".")[0]) / 100
        assert cfg.train_dataloader.dataset.label_fraction == fraction
