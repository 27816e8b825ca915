"""zoo.apis.init_model: one way to build a model from its config and load a checkpoint."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from zoo.apis import init_model, load_checkpoint
from zoo.checkpoint import CheckpointMismatchError, UnreadableCheckpointError

REPO = Path(__file__).resolve().parents[2]
SYNTHETIC = str(REPO / "configs/skeleton/stgcn_synthetic.py")
TINY = {"model.backbone.base_channels": 8, "model.backbone.num_stages": 3,
        "model.backbone.inflate_stages": [2], "model.backbone.down_stages": [2],
        "model.cls_head.in_channels": 16, "model.cls_head.num_classes": 4}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny ST-GCN with non-initial weights, saved as an mmengine-style checkpoint."""
    torch.manual_seed(0)
    model = init_model(SYNTHETIC, cfg_options=TINY)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    path = tmp_path_factory.mktemp("ckpt") / "epoch_3.pth"
    torch.save({"state_dict": model.state_dict(),
                "meta": {"dataset_meta": {"classes": ["a", "b", "c", "d"]}}}, path)
    return model, path


def test_builds_loads_and_evaluates_like_the_saved_model(trained):
    model, path = trained
    loaded = init_model(SYNTHETIC, str(path), cfg_options=TINY)
    assert not loaded.training
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value, rtol=0, atol=0)
    x = torch.randn(2, 1, 1, 20, 25, 3)
    torch.testing.assert_close(loaded(x, mode="tensor"), model.eval()(x, mode="tensor"),
                               rtol=0, atol=0)
    assert loaded.dataset_meta == {"classes": ["a", "b", "c", "d"]}
    assert loaded.cfg.model.cls_head.num_classes == 4


def test_accepts_a_config_object_and_leaves_it_unchanged(trained):
    _, path = trained
    cfg = Config.fromfile(SYNTHETIC)
    cfg.merge_from_dict(TINY)
    model = init_model(cfg, path, cfg_options={"model.cls_head.dropout": 0.5})
    assert model.cls_head.dropout.p == 0.5 and cfg.model.cls_head.get("dropout") != 0.5


def test_wrong_checkpoint_names_missing_unexpected_and_misshaped_keys(trained, tmp_path):
    model, _ = trained
    state = dict(model.state_dict())
    state["cls_head.fc.weight"] = state["cls_head.fc.weight"][:3]
    state["backbone.extra.weight"] = torch.zeros(1)
    del state["backbone.data_bn.weight"]
    bad = tmp_path / "bad.pth"
    torch.save(state, bad)
    with pytest.raises(CheckpointMismatchError) as info:
        init_model(SYNTHETIC, bad, cfg_options=TINY)
    message = str(info.value)
    assert str(bad) in message
    assert "1 missing (e.g. ['backbone.data_bn.weight'])" in message
    assert "1 unexpected (e.g. ['backbone.extra.weight'])" in message
    assert "cls_head.fc.weight has shape (3, 16) in the checkpoint but (4, 16)" in message
    # the unlearning / attack tools catch KeyError, the hub's callers ValueError
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)


def test_non_strict_tolerates_missing_keys_but_never_a_shape(trained, tmp_path):
    model, _ = trained
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("cls_head.")}
    partial = tmp_path / "backbone_only.pth"
    torch.save({"state_dict": state}, partial)
    with pytest.raises(CheckpointMismatchError, match="2 missing"):
        init_model(SYNTHETIC, partial, cfg_options=TINY)
    loaded = init_model(SYNTHETIC, partial, cfg_options=TINY, strict=False)
    torch.testing.assert_close(loaded.backbone.data_bn.weight, model.backbone.data_bn.weight)
    wrong = init_model(SYNTHETIC, cfg_options=TINY)
    state = dict(model.state_dict())
    state["backbone.data_bn.weight"] = torch.zeros(3)
    torch.save(state, partial)
    with pytest.raises(CheckpointMismatchError, match="backbone.data_bn.weight has shape"):
        load_checkpoint(wrong, partial, strict=False)


def test_unreadable_checkpoint_is_named_without_torch_advice(trained, tmp_path):
    _, path = trained
    data = path.read_bytes()
    for name, content in (("half.pth", data[: len(data) // 2]), ("empty.pth", b""),
                          ("page.pth", b"<html>Not found</html>")):
        bad = tmp_path / name
        bad.write_bytes(content)
        with pytest.raises(UnreadableCheckpointError) as info:
            init_model(SYNTHETIC, bad, cfg_options=TINY)
        assert str(info.value) == (f"{bad} is not a readable checkpoint "
                                   "(truncated? not a torch file?)")


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="config file .*nope.py does not exist"):
        init_model(tmp_path / "nope.py")
    with pytest.raises(FileNotFoundError, match="nope.pth does not exist"):
        init_model(SYNTHETIC, tmp_path / "nope.pth", cfg_options=TINY)


def test_hub_build_model_still_exported():
    import zoo
    from zoo.hub import api

    assert zoo.build_model is api.build_model
