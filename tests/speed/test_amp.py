"""bf16 mixed precision (``--amp``): it trains, evaluates and resumes exactly."""
from pathlib import Path

import pytest
import torch
from mmengine.hooks import Hook
from tool_loading import load_tool

from zoo.checkpoint import safe_torch_load
from zoo.registry import HOOKS

REPO = Path(__file__).resolve().parents[2]
SYNTHETIC = str(REPO / "configs/skeleton/stgcn_synthetic.py")
TINY = [
    "model.backbone.base_channels=16", "model.backbone.num_stages=3",
    "model.backbone.inflate_stages=[2]", "model.backbone.down_stages=[2]",
    "model.cls_head.in_channels=32", "model.cls_head.num_classes=4",
    "train_dataloader.dataset.num_per_class=12", "train_dataloader.dataset.num_classes=4",
    "val_dataloader.dataset.num_per_class=6", "val_dataloader.dataset.num_classes=4",
    "test_dataloader.dataset.num_per_class=6", "test_dataloader.dataset.num_classes=4",
    "train_dataloader.batch_size=8", "train_cfg.val_interval=100",
    "param_scheduler.0.T_max=10", "default_hooks.logger.interval=1",
]


@HOOKS.register_module(force=True)
class RecordAmpStep(Hook):
    """Records each training loss and the dtype of the backbone's output inside training,
    validation and test steps (test only; other forwards, e.g. a FLOP count, are ignored)."""

    losses: list = []
    dtypes: set = set()
    in_step = False

    def before_train(self, runner):
        def record(module, args, out):
            if RecordAmpStep.in_step:
                RecordAmpStep.dtypes.add((out.dtype, module.training))

        runner.model.backbone.register_forward_hook(record)

    def _start(self, runner, *args, **kwargs):
        RecordAmpStep.in_step = True

    def _stop(self, runner, *args, **kwargs):
        RecordAmpStep.in_step = False

    before_train_iter = before_val_iter = before_test_iter = _start
    after_val_iter = after_test_iter = _stop

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        RecordAmpStep.in_step = False
        RecordAmpStep.losses.append(float(outputs["loss"].detach()))


class Crash(RuntimeError):
    pass


@HOOKS.register_module(force=True)
class CrashAfterSecondEpoch(Hook):
    """Kills the run once the checkpoint of epoch 2 is written (test only)."""

    priority = "LOWEST"

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == 2:
            raise Crash("killed after epoch 2")


def config(tmp_path, *hooks):
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "amp.py"
    path.write_text(f"_base_ = [{SYNTHETIC!r}]\ncustom_hooks = [dict(type='EpochSeedHook')"
                    + "".join(f", dict(type={h!r})" for h in hooks) + "]\n")
    return str(path)


def test_amp_trains_in_bf16_and_learns(tmp_path):
    RecordAmpStep.losses, RecordAmpStep.dtypes = [], set()
    metrics = load_tool("train").main([
        config(tmp_path, "RecordAmpStep"), "--amp", "--work-dir", str(tmp_path / "w"),
        "--cfg-options", *TINY, "train_cfg.max_epochs=10"])
    # training and evaluation forwards ran under bf16 autocast
    assert RecordAmpStep.dtypes == {(torch.bfloat16, True), (torch.bfloat16, False)}, \
        RecordAmpStep.dtypes
    losses = RecordAmpStep.losses
    assert len(losses) == 60
    first, last = sum(losses[:6]) / 6, sum(losses[-6:]) / 6
    assert last < 0.4 * first, (first, last)
    assert metrics["top1"] >= 90.0, metrics
    ckpt = safe_torch_load(tmp_path / "w/epoch_10.pth")
    assert all(v.dtype == torch.float32 for v in ckpt["state_dict"].values()
               if v.is_floating_point())  # master weights stay fp32


def test_amp_resumes_exactly(tmp_path):
    cfg = config(tmp_path)
    train = load_tool("train").main
    full = train([cfg, "--amp", "--work-dir", str(tmp_path / "full"), "--cfg-options", *TINY,
                  "train_cfg.max_epochs=4", "experiment_name=full"])
    with pytest.raises(Crash):
        train([config(tmp_path / "crash", "CrashAfterSecondEpoch"), "--amp", "--work-dir",
               str(tmp_path / "part"), "--cfg-options", *TINY, "train_cfg.max_epochs=4",
               "experiment_name=part"])
    resumed = train([cfg, "--amp", "--work-dir", str(tmp_path / "part"), "--resume",
                     "--cfg-options", *TINY, "train_cfg.max_epochs=4",
                     "experiment_name=resumed"])
    a = safe_torch_load(tmp_path / "full/epoch_4.pth")["state_dict"]
    b = safe_torch_load(tmp_path / "part/epoch_4.pth")["state_dict"]
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-6, rtol=0, msg=key)
    assert full == resumed


def test_amp_test_tool_evaluates_in_bf16(tmp_path):
    cfg = config(tmp_path)
    load_tool("train").main([cfg, "--work-dir", str(tmp_path), "--no-test", "--cfg-options",
                             *TINY, "train_cfg.max_epochs=4"])
    import numpy as np

    test = load_tool("test").main
    fp32 = test([cfg, str(tmp_path / "epoch_4.pth"), "--work-dir", str(tmp_path),
                 "--dump", str(tmp_path / "fp32.npz"), "--cfg-options", *TINY])
    # read now: a second tools/test.py run in the same process was seen to rewrite the first
    # run's --dump file as well
    a = dict(np.load(tmp_path / "fp32.npz"))
    bf16 = test([cfg, str(tmp_path / "epoch_4.pth"), "--work-dir", str(tmp_path), "--amp",
                 "--dump", str(tmp_path / "bf16.npz"), "--cfg-options", *TINY])
    b = dict(np.load(tmp_path / "bf16.npz"))
    assert a["scores"].dtype == b["scores"].dtype == np.float32
    diff = np.abs(a["scores"] - b["scores"]).max()
    assert 0 < diff < 0.05, diff  # bf16 did run (scores differ) and stays close
    assert (a["scores"].argmax(1) == b["scores"].argmax(1)).mean() >= 0.95
    assert abs(fp32["top1"] - bf16["top1"]) <= 100 / 24 + 1e-6  # at most one of 24 clips


def test_bf16_autocast_keeps_raw_input_layers_and_head_in_fp32():
    from mmengine.registry import init_default_scope

    from zoo.engine.amp import bf16_autocast, precision_sensitive_modules
    from zoo.registry import MODELS

    init_default_scope("zoo")
    torch.manual_seed(0)
    model = MODELS.build(dict(type="SkeletonRecognizer", backbone=dict(
        type="STGCN", graph_cfg=dict(layout="ntu25", mode="stgcn_spatial"), base_channels=16,
        num_stages=2, inflate_stages=(), down_stages=()),
        cls_head=dict(type="GCNHead", in_channels=16, num_classes=4))).eval()
    first, later = model.backbone.layers[0].gcn.conv, model.backbone.layers[1].gcn.conv
    assert first in precision_sensitive_modules(model)
    assert later not in precision_sensitive_modules(model)
    dtypes = {}
    for name, module in (("first", first), ("later", later), ("fc", model.cls_head.fc)):
        module.register_forward_hook(lambda m, a, o, name=name: dtypes.__setitem__(name, o.dtype))
    x = torch.randn(2, 1, 1, 16, 25, 3)
    with torch.no_grad(), bf16_autocast(model):
        logits = model(x)
    assert dtypes == {"first": torch.float32, "later": torch.bfloat16, "fc": torch.float32}
    assert logits.dtype == torch.float32
    with torch.no_grad(), bf16_autocast(model, keep_fp32=False):
        model(x)
    assert dtypes["first"] == dtypes["fc"] == torch.bfloat16
    with torch.no_grad():  # the hooks are gone after the context
        model(x)
    assert set(dtypes.values()) == {torch.float32}


def test_ctrgc_relation_conv_opts_out_of_the_fp32_islands():
    """CTR-GC's conv4 reads 8 tanh relation channels, not coordinates: it stays bf16 under
    --amp (also as the fused copy's matrix-product convolution); the raw-input convolutions of
    the first block stay fp32."""
    from zoo.models.skeleton import CTRGCN

    from zoo.deploy import fuse_for_inference
    from zoo.engine.amp import precision_sensitive_modules

    torch.manual_seed(0)
    model = CTRGCN(base_channels=64, num_stages=2, inflate_stages=(), down_stages=()).eval()
    kept = precision_sensitive_modules(model)
    first, second = model.layers[0].gcn.convs[0], model.layers[1].gcn.convs[0]
    assert first.conv1 in kept and first.conv3 in kept  # 3 input channels
    assert second.conv4.in_channels == 8 and second.conv4 not in kept
    assert not any(c.conv4 in kept for layer in model.layers for c in layer.gcn.convs)
    fused = fuse_for_inference(model, torch.randn(1, 2, 8, 25, 3))
    fused_kept = precision_sensitive_modules(fused)
    assert fused.layers[1].gcn.convs[0].conv4.amp_bf16
    assert not any(c.conv4 in fused_kept for layer in fused.layers for c in layer.gcn.convs)
    assert fused.layers[0].gcn.convs[0].conv1 in fused_kept
