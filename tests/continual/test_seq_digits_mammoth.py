"""Mammoth's ResNet-18 and the Mammoth-style sequential protocol on split digits
(configs/continual/seq_digits_mammoth/)."""
import importlib.util
import json
from pathlib import Path

import pytest
import torch
import zoo.models  # noqa: F401  (registers the backbones)
from mmengine.config import Config
from zoo.models.image.mammoth_resnet import random_crop_padded

from zoo.registry import MODELS, STRATEGIES

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "continual" / "seq_digits_mammoth"

# Mammoth utils/best_args.py, seq-cifar10, buffer 200 (X-DER: seq-cifar100, buffer 500; joint:
# sgd's values) -> (strategy type, lr, SGD weight decay).
EXPECTED = {
    "sgd": ("FineTune", 0.1, 0.0), "joint": ("FineTune", 0.1, 0.0), "er": ("ER", 0.1, 0.0),
    "der": ("DERPP", 0.03, 0.0), "derpp": ("DERPP", 0.03, 0.0), "agem": ("AGEM", 0.03, 0.0),
    "icarl": ("ICaRL", 0.1, 2e-5), "gem": ("GEM", 0.03, 0.0), "xder": ("XDER", 0.03, 0.0),
}


def mammoth_resnet18_count(in_ch: int, nf: int, classes: int) -> int:
    """Parameters of Mammoth's ResNet-18 from its layer list (backbone/ResNet18.py): 3x3
    bias-free stem + BN, 2 basic blocks per stage at widths nf, 2nf, 4nf, 8nf (strides
    1, 2, 2, 2), a 1x1 conv + BN shortcut where the shape changes, linear classifier."""
    bn = lambda c: 2 * c  # noqa: E731  (weight and bias)
    conv = lambda cin, cout, k: cin * cout * k * k  # noqa: E731
    total = conv(in_ch, nf, 3) + bn(nf)
    cin = nf
    for width in (nf, 2 * nf, 4 * nf, 8 * nf):
        for _ in range(2):
            total += conv(cin, width, 3) + bn(width) + conv(width, width, 3) + bn(width)
            if cin != width:
                total += conv(cin, width, 1) + bn(width)
            cin = width
    return total + cin * classes + classes


def test_mammoth_resnet18_has_mammoths_parameter_count_on_cifar_input():
    expected = mammoth_resnet18_count(3, 64, 10)
    assert expected == 11_173_962  # the CIFAR ResNet-18 with a 10-way classifier
    model = MODELS.build(dict(
        type="ImageClassifier", backbone=dict(type="MammothResNet18", in_channels=3),
        cls_head=dict(type="LinearClsHead", in_channels=512, num_classes=10)))
    assert sum(p.numel() for p in model.parameters()) == expected
    # the stem keeps 32x32 (stride 1, no max-pool); three stride-2 stages give 4x4
    assert model.backbone(torch.zeros(2, 3, 32, 32)).shape == (2, 512, 4, 4)
    assert model.logits(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_protocol_model_on_one_channel_8x8_digits():
    cfg = Config.fromfile(str(CONFIGS / "sgd.py"))
    model = MODELS.build(cfg.model)
    # only the stem changes with one input channel: 64 * 9 * (3 - 1) fewer weights
    assert sum(p.numel() for p in model.parameters()) == \
        mammoth_resnet18_count(3, 64, 10) - 64 * 9 * 2
    model.eval()
    x = torch.rand(5, 1, 8, 8)
    assert model.backbone(x).shape == (5, 512, 1, 1)
    assert model.logits(x).shape == (5, 10)
    # evaluation: normalisation only, no crop (deterministic, equal to the inner network on
    # normalised input)
    inner = model.backbone.backbone
    expected = inner((x - 0.3048) / 0.3758)
    assert torch.allclose(model.backbone(x), expected, atol=1e-6)


def test_random_crop_padded_is_torchvision_random_crop_with_zero_padding():
    x = torch.arange(1, 2 * 64 + 1, dtype=torch.float32).reshape(2, 1, 8, 8).repeat(300, 1, 1, 1)
    gen = torch.Generator().manual_seed(0)
    out = random_crop_padded(x, 1, generator=gen)
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    seen = set()
    for i in range(len(x)):
        match = [(dy, dx) for dy in range(3) for dx in range(3)
                 if torch.equal(out[i], padded[i, :, dy:dy + 8, dx:dx + 8])]
        assert len(match) == 1, f"sample {i} is not a padded 8x8 window"
        seen.add(match[0])
    assert seen == {(dy, dx) for dy in range(3) for dx in range(3)}  # every offset drawn
    assert random_crop_padded(x, 0) is x


def test_training_mode_crops_before_normalising():
    cfg = Config.fromfile(str(CONFIGS / "sgd.py"))
    wrapper = MODELS.build(cfg.model.backbone)
    seen = []
    wrapper.backbone.forward = lambda t: seen.append(t) or t  # record the inner input
    x = torch.ones(64, 1, 8, 8)
    torch.manual_seed(0)
    wrapper.train()
    wrapper(x)
    normed = seen[-1] * 0.3758 + 0.3048  # undo the normalisation
    # padded pixels are black (0 before normalising, as torchvision pads the raw image)
    assert set(normed.round(decimals=4).unique().tolist()) == {0.0, 1.0}
    assert (normed == 0).any() and (normed.flatten(1).sum(1) >= 49).all()
    wrapper.eval()
    wrapper(x)
    assert torch.allclose(seen[-1], (x - 0.3048) / 0.3758)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_protocol_config_builds_with_mammoths_settings(name):
    cfg = Config.fromfile(str(CONFIGS / f"{name}.py"))
    kind, lr, wd = EXPECTED[name]
    tc = cfg.train_cfg
    assert tc.type == "ContinualTrainLoop" and tc.epochs_per_task == 50
    assert cfg.train_dataloader.batch_size == 32
    assert cfg.optim_wrapper.optimizer == dict(type="SGD", lr=lr, momentum=0.0,
                                               weight_decay=wd)
    assert cfg.get("param_scheduler") is None  # seq-cifar10: no schedule
    assert tc.scenario.class_order == list(range(10))
    assert tc.scenario.num_tasks == (1 if name == "joint" else 5)
    assert cfg.model.backbone.crop_padding == 1
    assert cfg.model.backbone.backbone.type == "MammothResNet18"
    strategy = STRATEGIES.build(tc.strategy)
    assert type(strategy).__name__ == kind
    size = {"ER": lambda s: s.buffer.size, "DERPP": lambda s: s.buffer.size,
            "AGEM": lambda s: s.memory.size, "ICaRL": lambda s: s.memory.size,
            "GEM": lambda s: s.memory.size, "XDER": lambda s: s.buffer.size}
    if kind in size:
        assert size[kind](strategy) == 200
    if kind in ("ER", "DERPP", "AGEM", "XDER"):
        assert strategy.replay_batch_size == 32
    if name == "der":
        assert (strategy.alpha, strategy.beta) == (0.3, 0.0)
    if name == "derpp":
        assert (strategy.alpha, strategy.beta) == (0.1, 0.5)


def _table_module():
    path = CONFIGS.parents[2] / "benchmarks" / "continual_mammoth_protocol.py"
    spec = importlib.util.spec_from_file_location("mammoth_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _results(seed, acc, task_aware, done):
    classes = [[2 * t, 2 * t + 1] for t in range(5)]
    return dict(seed=seed, scenario=dict(task_classes=classes),
                accuracy_matrix=[[acc] * 5] * 5,
                metrics=dict(average_accuracy=acc, forgetting=1.0),
                task_aware_metrics=dict(average_accuracy=task_aware),
                task_train_seconds=[10.0] * done)


def test_table_takes_finished_runs_only_and_keeps_the_published_column_apart(tmp_path):
    table = _table_module()
    for seed, acc, done in ((0, 90.0, 5), (1, 94.0, 5), (2, 10.0, 2)):  # seed 2 unfinished
        run = tmp_path / "er" / "runs" / "default" / f"seed{seed}"
        run.mkdir(parents=True)
        (run / "continual_results.json").write_text(
            json.dumps(_results(seed, acc, 99.0, done)))
    table.main([str(tmp_path), "--out", str(tmp_path / "out")])
    md = (tmp_path / "out.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| ER |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "2 (0, 1)" and cells[2] == "92.0 ± 2.8"  # std ddof 1 of 90, 94
    assert cells[6:8] == ["44.79", "91.19"]  # quoted DER-paper S-CIFAR-10 values, buffer 200
    assert "different data set (CIFAR-10" in md
