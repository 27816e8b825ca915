"""Issue 19 item 1: every tool that builds and loads a trained model goes through
``zoo.apis.init_model`` (same key check, same errors) and one helper sets the test clips."""
import importlib.util
from pathlib import Path

import pytest
import torch

from zoo.apis import init_model
from zoo.checkpoint import CheckpointMismatchError, UnreadableCheckpointError
from zoo.pipelines import set_test_clips

REPO = Path(__file__).resolve().parents[2]


def load_tool(relative):
    path = REPO / "tools" / relative
    spec = importlib.util.spec_from_file_location(f"tool_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sliced_checkpoint(config: str, path: Path, key: str) -> Path:
    """A checkpoint of ``config``'s model whose ``key`` lost its last row."""
    state = dict(init_model(str(REPO / config)).state_dict())
    state[key] = state[key][:-1]
    torch.save({"state_dict": state, "meta": {}}, path)
    return path


def misshaped(key: str) -> str:
    return rf"the checkpoint does not fit the model: 1 mis-shaped: {key} has shape"


def test_unlearning_api_no_longer_shadows_zoo_build_model():
    import zoo
    import zoo.unlearning.api as unlearning_api

    assert not hasattr(unlearning_api, "build_model")
    assert not hasattr(unlearning_api, "load_weights")
    assert zoo.build_model.__module__ == "zoo.hub.api"


def test_unlearn_tool_names_the_misshaped_key(tmp_path):
    ckpt = sliced_checkpoint("configs/image/smallcnn_digits.py", tmp_path / "c.pth",
                             "cls_head.fc.weight")
    with pytest.raises(CheckpointMismatchError, match=misshaped("cls_head.fc.weight")):
        load_tool("unlearn.py").main([str(REPO / "configs/image/smallcnn_digits.py"),
                                      "--checkpoint", str(ckpt), "--unlearner", "SSD",
                                      "--forget-classes", "0", "--out", str(tmp_path / "out")])


def test_attack_victim_loading_names_the_misshaped_key(tmp_path):
    from zoo.attacks.evaluate import load_model

    config = "configs/skeleton/stgcn_synthetic.py"
    ckpt = sliced_checkpoint(config, tmp_path / "c.pth", "cls_head.fc.bias")
    with pytest.raises(CheckpointMismatchError, match=misshaped("cls_head.fc.bias")):
        load_model(str(REPO / config), str(ckpt))


def test_attack_split_uses_the_test_clips_helper():
    from zoo.attacks.evaluate import load_split
    from zoo.runner_utils import load_config

    cfg = load_config(str(REPO / "configs/skeleton/stgcn_synthetic.py"))
    x, y = load_split(cfg, num_clips=3, num_samples=4)
    assert x.shape[:2] == (4, 3) and y.shape == (4,)
    with pytest.raises(ValueError, match="number of test clips must be a positive integer"):
        load_split(cfg, num_clips=0, num_samples=4)


def test_ensemble_subnet_tool_names_the_misshaped_key(tmp_path):
    config = "configs/skeleton/cnn1d_ensemble_msr3d_xsub.py"
    model = init_model(str(REPO / config))
    key = next(k for k, v in model.state_dict().items() if v.ndim == 2)
    ckpt = sliced_checkpoint(config, tmp_path / "c.pth", key)
    with pytest.raises(CheckpointMismatchError, match=misshaped(key)):
        load_tool("cnn1d_subnets.py").subnet_top1(str(REPO / config), str(ckpt))


def test_topology_overlay_names_the_misshaped_key(tmp_path):
    config = "configs/topology/unet_dicece_walls.py"
    model = init_model(str(REPO / config))
    key = next(k for k, v in model.state_dict().items() if v.ndim == 4)
    ckpt = sliced_checkpoint(config, tmp_path / "c.pth", key)
    overlay = load_tool("topology/overlay.py")
    with pytest.raises(CheckpointMismatchError, match=misshaped(key)):
        overlay.load_segmentor(str(REPO / config), str(ckpt))


def test_healthivert_loading_names_an_unreadable_checkpoint(tmp_path):
    from zoo.medical.healthivert_eval import load_healthivert

    bad = tmp_path / "gan.pth"
    bad.write_bytes(b"<html>502 Bad Gateway</html>")
    with pytest.raises(UnreadableCheckpointError, match=r"gan.pth is not a readable checkpoint"):
        load_healthivert(str(REPO / "configs/medical/healthivert_phantom.py"), str(bad))


def test_set_test_clips_sets_every_sampler_and_refuses_silence():
    pipeline = [dict(type="PreNormalize3D"), dict(type="UniformSampleFrames", clip_len=8),
                dict(type="zoo.UniformSampleFrames", clip_len=8, num_clips=1)]
    assert set_test_clips(pipeline, 4) == 2
    assert all(s["num_clips"] == 4 and s["test_mode"] for s in pipeline[1:])
    with pytest.raises(ValueError, match=r"cfg.py: the test pipeline has no UniformSampleFrames "
                                         r"step .*\['PreNormalize3D'\]"):
        set_test_clips([dict(type="PreNormalize3D")], 2, "cfg.py", required=True)
    assert set_test_clips([dict(type="PreNormalize3D")], 2) == 0


def test_test_tool_refuses_zero_clips(tmp_path):
    (tmp_path / "any.pth").write_bytes(b"")  # refused before the checkpoint is read
    with pytest.raises(ValueError, match="--num-clips: the number of test clips must be a "
                                         "positive integer, got 0"):
        load_tool("test.py").main([str(REPO / "configs/skeleton/stgcn_synthetic.py"),
                                   str(tmp_path / "any.pth"), "--num-clips", "0",
                                   "--work-dir", str(tmp_path)])
