"""Model cards of the index entries (``zoo info NAME``, ``zoo.model_info(NAME)['card']``)."""
from __future__ import annotations

import pytest
import torch

from zoo.cli import main
from zoo.hub.card import entry_card
from zoo.hub.index import IMAGE, MODEL_INDEX, POSE, SKELETON
from zoo.model_card import checkpoint_card

ALL = sorted(MODEL_INDEX)


@pytest.mark.parametrize("name", ALL)
def test_every_entry_has_a_card(name):
    entry = MODEL_INDEX[name]
    card = entry_card(name, complexity=False)
    for key in ("classes", "input", "pipeline", "licence", "source", "paper"):
        assert card[key], (name, key)
    assert card["published_metric"] == entry.metric
    spec = card["input"]
    if entry.task == SKELETON:
        assert spec["kind"] == "skeleton"
        assert spec["joints"] == (17 if "2-D" in entry.dataset or "COCO" in entry.dataset
                                  else 18 if "Kinetics" in entry.dataset
                                  else 20 if "NW-UCLA" in entry.dataset else 25)
        assert spec["persons"] in (1, 2) and spec["frames"] > 0 and spec["channels"] == 3
        assert spec["stream"].split()[0] == (entry.stream or "j")
        assert spec["shape"] == [1, spec["persons"], spec["frames"], spec["joints"], 3]
        if entry.dataset.startswith("NTU"):
            assert f"label_map_ntu{entry.num_classes}.txt" in card["classes"]
    elif entry.task == POSE:  # a pose estimator (zoo.pose), not a classifier
        assert spec["kind"] == "image" and card["classes"] == ["background", "person"]
        assert "17 COCO keypoints" in spec["output"]
    else:
        assert entry.task == IMAGE and spec["size"] == [3, 224, 224]
        assert spec["mean"] == pytest.approx([0.485, 0.456, 0.406])
        assert len(card["classes"]) == 1000 and card["classes"][0].startswith("tench")


def test_skateformer_single_stream_numbers_from_the_authors_card():
    assert entry_card("skateformer_ntu60_xsub_joint", False)["published_metric"] == \
        {"top1": 92.6}
    assert entry_card("skateformer_ntu120_xsub_joint", False)["published_metric"] == \
        {"top1": 87.7}


def test_complexity_matches_the_published_numbers():
    """STGCN++ 3-D: mmaction2's metafile gives 1.4M parameters and 2.96 G (multiply-adds) for
    one 100-frame clip; ResNet-18: torchvision's weights meta gives 1.814 GFLOPS (multiply-adds).
    The zoo counts a multiply-add as 2 FLOPs."""
    from torchvision.models import ResNet18_Weights

    card = entry_card("stgcnpp_ntu60_xsub_joint_mmaction2")
    assert card["params"] == pytest.approx(1.40e6, rel=0.005)
    assert card["gflops"] / 2 == pytest.approx(2.96, rel=0.02)
    assert card["flops_input"] == [1, 2, 100, 25, 3]
    card = entry_card("resnet18_tv_in1k")
    assert card["gflops"] / 2 == pytest.approx(ResNet18_Weights.IMAGENET1K_V1.meta["_ops"],
                                               rel=0.01)
    assert card["params"] == ResNet18_Weights.IMAGENET1K_V1.meta["num_params"]


def test_zoo_info_prints_the_card(capsys):
    assert main(["info", "ctrgcn_ntu120_xsub_hrnet2d_bone_pyskl"]) == 0
    out = capsys.readouterr().out
    assert "model card" in out and "joints=17" in out and "stream=b (bone)" in out
    assert "x, y, keypoint score" in out and "top1=84.6" in out and "arxiv.org/abs/2107.12213" \
        in out


def test_a_file_without_meta_is_refused_with_its_name(tmp_path, capsys):
    path = tmp_path / "bare.pth"
    torch.save({"w": torch.zeros(1)}, path)
    with pytest.raises(ValueError, match="bare.pth: not a zoo / mmengine checkpoint"):
        checkpoint_card(path)
    assert main(["info", str(tmp_path / "missing.pth")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_config_card_leaves_the_global_random_stream_alone():
    """The card is made by a hook before training: a metadata hook must not draw from torch's
    global generator (that would make a run's result depend on whether the hook ran)."""
    from pathlib import Path

    from mmengine.config import Config

    from zoo.analysis.complexity import build_from_config
    from zoo.model_card import config_card

    cfg = Config.fromfile(str(Path(__file__).resolve().parents[2]
                              / "configs/skeleton/stgcn_synthetic.py"))
    model = build_from_config(cfg)  # the hook gets the runner's model, already built
    torch.manual_seed(0)
    before = torch.get_rng_state()
    card = config_card(cfg, model=model)
    assert card["gflops"] > 0
    assert torch.equal(before, torch.get_rng_state())
