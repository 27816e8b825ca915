"""``--channels-last``: weights stored NHWC, same function, training and continual runs use it."""
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import Hook
from tool_loading import load_tool
from torch import nn
from zoo.models.image import SmallCNN

from zoo.engine.memory_format import ChannelsLastHook, channels_last_, enable_channels_last
from zoo.registry import HOOKS

REPO = Path(__file__).resolve().parents[2]
CL = torch.channels_last


class Mixed(nn.Module):
    def __init__(self):
        super().__init__()
        self.cnn = SmallCNN(in_channels=3, channels=(8, 16))
        self.conv3d = nn.Conv3d(2, 4, 3)
        self.head = nn.Linear(16, 3)


def test_channels_last_converts_in_place():
    torch.manual_seed(0)
    model = Mixed()
    params = {n: p for n, p in model.named_parameters()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    conv = model.cnn.features[2][0].weight
    assert not conv.is_contiguous(memory_format=CL)
    moved = channels_last_(model)
    assert moved == 3  # the two 3x3 convs of 3 -> 8 / 8 -> 16 channels and the 3-D conv
    assert conv.is_contiguous(memory_format=CL)
    assert model.conv3d.weight.is_contiguous(memory_format=torch.channels_last_3d)
    assert model.head.weight.is_contiguous()
    assert all(p is params[n] for n, p in model.named_parameters())  # same Parameter objects
    assert optimizer.param_groups[0]["params"][1] is model.cnn.features[0][1].weight
    assert channels_last_(model) == 0  # a second call leaves everything alone


def test_one_channel_weights_get_channels_last_strides():
    """A grey image's first convolution: its weight [32, 1, 3, 3] is contiguous in both
    formats, but oneDNN reads the layout from the strides, which must be NHWC's."""
    model = SmallCNN(in_channels=1, channels=(32, 64))
    first = model.features[0][0].weight
    assert first.stride() == (9, 9, 3, 1)
    assert channels_last_(model) == 2
    assert first.stride() == (9, 1, 3, 1)
    x = torch.rand(4, 1, 8, 8)
    out = model.features[0][0](x)
    assert out.is_contiguous(memory_format=CL) and not out.is_contiguous()


def test_same_function_and_gradients():
    torch.manual_seed(1)
    a = nn.Sequential(SmallCNN(in_channels=1, channels=(32, 64, 128)), nn.Flatten(2))
    b = nn.Sequential(SmallCNN(in_channels=1, channels=(32, 64, 128)), nn.Flatten(2))
    b.load_state_dict(a.state_dict())
    channels_last_(b)
    x = torch.rand(16, 1, 8, 8)
    out_a, out_b = a(x), b(x)
    torch.testing.assert_close(out_b, out_a, rtol=1e-5, atol=1e-5)
    out_a.square().sum().backward()
    out_b.square().sum().backward()
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        scale = p.grad.abs().max()
        assert (q.grad - p.grad).abs().max() <= 1e-4 * scale, name


def test_hook_converts_modules_added_between_epochs():
    model = nn.Sequential(nn.Conv2d(3, 8, 3))
    messages = []
    runner = SimpleNamespace(model=model, logger=SimpleNamespace(info=messages.append))
    hook = ChannelsLastHook()
    hook.before_run(runner)
    assert model[0].weight.is_contiguous(memory_format=CL)
    model.append(nn.Conv2d(8, 8, 3))  # e.g. a continual strategy's new task convolution
    hook.before_train_epoch(runner)
    assert model[1].weight.is_contiguous(memory_format=CL)
    hook.before_train_epoch(runner)
    assert messages == ["ChannelsLastHook: 1 weight tensors stored channels last"] * 2


def test_enable_adds_the_hook_once():
    from mmengine.config import Config

    cfg = Config(dict(custom_hooks=[dict(type="EpochSeedHook")]))
    enable_channels_last(cfg)
    enable_channels_last(cfg)
    assert [h["type"] for h in cfg.custom_hooks] == ["EpochSeedHook", "ChannelsLastHook"]


@HOOKS.register_module(force=True)
class RecordLayout(Hook):
    """Records whether the backbone's convolutions are channels last at each training step."""

    seen: list = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        convs = [m.weight for m in runner.model.modules() if isinstance(m, nn.Conv2d)]
        RecordLayout.seen.append(all(w.stride()[1] == 1 for w in convs))  # NHWC strides

    before_test_iter = before_train_iter


def _continual_run(tmp_path, name, extra):
    RecordLayout.seen = []
    config = tmp_path / f"{name}.py"
    config.write_text(f"_base_ = [{str(REPO / 'configs/continual/split_digits/er.py')!r}]\n"
                      "custom_hooks = [dict(type='RecordLayout')]\n")
    load_tool("train").main([
        str(config), "--work-dir", str(tmp_path / name), "--cfg-options",
        "train_cfg.epochs_per_task=2", "train_cfg.save_plots=False", *extra])
    results = json.loads((tmp_path / name / "continual_results.json").read_text())
    return RecordLayout.seen, results


def test_train_tool_flag_in_a_continual_run(tmp_path):
    """``tools/train.py --channels-last`` on split digits with replay: every step runs on
    channels-last weights and the run learns what the default run learns."""
    seen, results = _continual_run(tmp_path, "cl", ["--channels-last"])
    assert seen and all(seen)
    seen_default, default = _continual_run(tmp_path, "default", [])
    assert seen_default and not any(seen_default)
    final, final_default = (r["accuracy_matrix"][-1] for r in (results, default))
    mean, mean_default = (sum(row) / len(row) for row in (final, final_default))
    assert mean > 80.0, final  # replay keeps the old tasks
    # the same function to rounding: the runs may differ by a few test images only
    assert mean == pytest.approx(mean_default, abs=3.0), (final, final_default)


def test_test_tool_flag(tmp_path):
    """``tools/test.py --channels-last``: the evaluation runs on NHWC weights and scores as
    the default evaluation to rounding."""
    import numpy as np

    config = tmp_path / "digits.py"
    config.write_text(f"_base_ = [{str(REPO / 'configs/image/smallcnn_digits.py')!r}]\n"
                      "custom_hooks = [dict(type='RecordLayout')]\n")
    load_tool("train").main([str(config), "--work-dir", str(tmp_path), "--no-test",
                             "--cfg-options", "train_cfg.max_epochs=1"])
    scores = {}
    for name, extra in (("default", []), ("cl", ["--channels-last"])):
        RecordLayout.seen = []
        load_tool("test").main([str(config), str(tmp_path / "epoch_1.pth"), "--work-dir",
                                str(tmp_path), "--dump", str(tmp_path / f"{name}.npz"), *extra])
        scores[name] = dict(np.load(tmp_path / f"{name}.npz"))["scores"]
        assert RecordLayout.seen and all(RecordLayout.seen) == (name == "cl"), name
    np.testing.assert_allclose(scores["cl"], scores["default"], rtol=1e-4, atol=1e-5)
