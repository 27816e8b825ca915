"""``--pointwise-gemm``: 1x1 convolutions as batched matrix products during training."""
from pathlib import Path
from types import SimpleNamespace

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from tool_loading import load_tool
from torch import nn

from zoo.engine.hook_config import add_custom_hook
from zoo.engine.memory_format import ChannelsLastHook
from zoo.engine.pointwise_gemm import PointwiseGemmHook, enable_pointwise_gemm
from zoo.ops.pointwise_gemm import PointwiseGemmConv2d
from zoo.registry import HOOKS

REPO = Path(__file__).resolve().parents[2]


def test_hook_swaps_in_place_and_again_for_new_modules():
    model = nn.Sequential(nn.Conv2d(3, 8, 1), nn.Conv2d(8, 8, 3), nn.Conv2d(8, 4, 1, bias=False))
    params = list(model.parameters())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    messages = []
    runner = SimpleNamespace(model=model, logger=SimpleNamespace(info=messages.append))
    hook = PointwiseGemmHook()
    hook.before_run(runner)
    assert [type(m) for m in model] == [PointwiseGemmConv2d, nn.Conv2d, PointwiseGemmConv2d]
    assert list(model.parameters()) == params  # the optimiser's parameters still train
    model(torch.randn(2, 3, 5, 5)).sum().backward()
    before = model[0].weight.detach().clone()
    optimizer.step()
    assert not torch.equal(model[0].weight, before)
    model.append(nn.Conv2d(4, 4, 1))  # e.g. a continual strategy's new layer
    hook.before_train_epoch(runner)
    hook.before_train_epoch(runner)  # nothing left to swap: no message
    assert type(model[3]) is PointwiseGemmConv2d
    assert messages == ["PointwiseGemmHook: 2 1x1 convolutions run as batched matrix products",
                        "PointwiseGemmHook: 1 1x1 convolutions run as batched matrix products"]


def test_hooks_are_added_once_whatever_the_spelling():
    cfg = Config(dict(custom_hooks=[dict(type="EpochSeedHook")]))
    enable_pointwise_gemm(cfg)
    enable_pointwise_gemm(cfg)
    assert [h["type"] for h in cfg.custom_hooks] == ["EpochSeedHook", "PointwiseGemmHook"]
    for present in (dict(type="zoo.ChannelsLastHook"), dict(type=ChannelsLastHook),
                    ChannelsLastHook()):
        cfg = Config(dict(custom_hooks=[present]))
        add_custom_hook(cfg, ChannelsLastHook)
        assert len(cfg.custom_hooks) == 1
    cfg = Config(dict())
    add_custom_hook(cfg, ChannelsLastHook)
    assert cfg.custom_hooks == [dict(type="ChannelsLastHook")]


@HOOKS.register_module(force=True)
class RecordPointwise(Hook):
    """Records, at each training step, how many 1x1 convolutions are plain / products."""

    seen: list = []
    losses: list = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        kinds = [type(m) for m in runner.model.modules() if isinstance(m, nn.Conv2d)
                 and m.kernel_size == (1, 1)]
        RecordPointwise.seen.append((kinds.count(nn.Conv2d), kinds.count(PointwiseGemmConv2d)))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        RecordPointwise.losses.append(float(outputs["loss"]))


def test_train_tool_flag(tmp_path):
    """``tools/train.py --pointwise-gemm`` on the synthetic actions: every training step runs
    the products, the loss falls, and the checkpoint has the default model's keys (it loads
    strictly into a model built without the flag)."""
    from zoo.apis import init_model

    RecordPointwise.seen, RecordPointwise.losses = [], []
    config = tmp_path / "pw.py"
    config.write_text(f"_base_ = [{str(REPO / 'configs/skeleton/stgcn_synthetic.py')!r}]\n"
                      "custom_hooks = [dict(type='RecordPointwise')]\n")
    load_tool("train").main([
        str(config), "--work-dir", str(tmp_path / "run"), "--no-test", "--pointwise-gemm",
        "--cfg-options", "train_cfg.max_epochs=3", "train_cfg.val_interval=3",
        "train_dataloader.dataset.num_per_class=6", "val_dataloader.dataset.num_per_class=2",
        "train_dataloader.batch_size=12", "param_scheduler.0.T_max=3"])
    assert RecordPointwise.seen and all(plain == 0 and gemm > 0
                                        for plain, gemm in RecordPointwise.seen)
    losses = RecordPointwise.losses
    assert len(losses) >= 10 and torch.isfinite(torch.tensor(losses)).all()
    assert sum(losses[-3:]) < sum(losses[:3]), losses
    model = init_model(str(REPO / "configs/skeleton/stgcn_synthetic.py"),
                       str(tmp_path / "run" / "epoch_3.pth"))  # strict load
    assert not any(isinstance(m, PointwiseGemmConv2d) for m in model.modules())
