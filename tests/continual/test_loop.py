"""The continual loop inside mmengine's runner: results, checkpoints, resume."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

from zoo.checkpoint import safe_torch_load
from zoo.continual.checkpoint import ContinualCheckpointError
from zoo.continual.strategies import Strategy
from zoo.registry import HOOKS, STRATEGIES
from zoo.runner_utils import load_config

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / "configs/continual/split_digits/finetune.py")


@HOOKS.register_module(force=True)
class ContinualCrashAfterEpoch(Hook):
    """Test hook: raise after the given (0-based) training epoch, as a killed run would."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def after_train_epoch(self, runner):
        if runner.epoch == self.epoch:
            raise RuntimeError("simulated crash")


@STRATEGIES.register_module(force=True)
class ExplodingLoss(Strategy):
    """Test strategy whose penalty is infinite."""

    def loss(self, model, inputs, labels):
        return {"loss_cls": model.logits(inputs).sum() * float("inf")}


def tiny(work_dir, strategy, **extra):
    options = {
        "model.backbone.channels": (4, 8), "model.cls_head.in_channels": 8,
        "train_cfg.epochs_per_task": 1, "train_cfg.strategy": strategy,
        "train_dataloader.batch_size": 48, "default_hooks.logger.interval": 1000,
        "experiment_name": Path(work_dir).name, **extra}
    return load_config(CONFIG, options, str(work_dir))


def run(cfg):
    runner = Runner.from_cfg(cfg)
    runner.train()
    return json.loads((Path(cfg.work_dir) / "continual_results.json").read_text())


def weights(path):
    return safe_torch_load(path)["state_dict"]


@pytest.mark.parametrize("strategy", [dict(type="DERPP", buffer_size=40), dict(type="CLR")],
                         ids=["DERPP", "CLR"])
def test_resume_mid_run_reproduces_the_uninterrupted_matrix(tmp_path, strategy):
    full = run(tiny(tmp_path / "full", strategy))
    crashing = tiny(tmp_path / "part", strategy)
    crashing.custom_hooks = [*crashing.custom_hooks,
                             dict(type="ContinualCrashAfterEpoch", epoch=2)]
    with pytest.raises(RuntimeError, match="simulated crash"):
        Runner.from_cfg(crashing).train()  # dies in task 3
    assert (tmp_path / "part/task_2.pth").exists()
    assert not (tmp_path / "part/task_3.pth").exists()
    resumed_cfg = tiny(tmp_path / "part", strategy, experiment_name="resumed")
    resumed_cfg.resume = True
    resumed = run(resumed_cfg)
    assert resumed["accuracy_matrix"] == full["accuracy_matrix"]
    assert resumed["task_aware_accuracy_matrix"] == full["task_aware_accuracy_matrix"]
    a, b = weights(tmp_path / "full/task_5.pth"), weights(tmp_path / "part/task_5.pth")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-6, rtol=0, msg=key)


def test_save_plots_off_writes_the_results_without_pngs(tmp_path):
    results = run(tiny(tmp_path / "quiet", dict(type="FineTune"),
                       **{"train_cfg.save_plots": False, "train_cfg.save_checkpoints": False}))
    assert np.array(results["accuracy_matrix"], dtype=float).shape == (5, 5)
    assert not list((tmp_path / "quiet").glob("*.png"))
    assert not list((tmp_path / "quiet").glob("task_*.pth"))


@pytest.fixture(scope="module")
def tool_run(tmp_path_factory):
    """One 5-task ER run through tools/train.py (shared by the tests below)."""
    work_dir = tmp_path_factory.mktemp("tool_run")
    spec = importlib.util.spec_from_file_location("tool_train", REPO / "tools/train.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    metrics = tool.main([CONFIG, "--work-dir", str(work_dir), "--cfg-options",
                         "model.backbone.channels=(4,8)", "model.cls_head.in_channels=8",
                         "train_cfg.epochs_per_task=1", "train_cfg.strategy.type=ER",
                         "train_cfg.strategy.buffer.size=30", "default_hooks.logger.interval=1000"])
    return work_dir, metrics


def test_train_tool_writes_results_plot_and_safe_checkpoints(tool_run):
    work_dir, metrics = tool_run
    assert metrics == {}  # no test_dataloader: the continual results are the outcome
    results = json.loads((work_dir / "continual_results.json").read_text())
    matrix = np.array(results["accuracy_matrix"], dtype=float)
    assert matrix.shape == (5, 5) and np.isnan(matrix[0, 1]) and not np.isnan(matrix[4]).any()
    assert results["metrics"]["average_accuracy"] == pytest.approx(matrix[4].mean())
    assert results["scenario"]["task_classes"][0] == results["scenario"]["class_order"][:2]
    assert (work_dir / "accuracy_matrix.png").read_bytes()[:4] == b"\x89PNG"
    ckpt = safe_torch_load(work_dir / "task_5.pth")  # weights_only=True
    assert ckpt["meta"]["tasks_done"] == 5 and ckpt["meta"]["num_classes"] == 10
    assert ckpt["state_dict"]["cls_head.fc.weight"].shape == (10, 8)
    assert ckpt["strategy"]["buffer"]["inputs"].shape == (30, 1, 8, 8)
    assert (work_dir / "last_task_checkpoint").read_text() == "task_5.pth"


def test_resume_refuses_a_checkpoint_of_another_run(tool_run):
    work_dir, _ = tool_run
    strategy = dict(type="ER", buffer=dict(type="reservoir", size=30))
    other = tiny(work_dir, strategy, **{"train_cfg.scenario.seed": 5,
                                        "experiment_name": "other"})
    other.resume = True
    with pytest.raises(ContinualCheckpointError, match="class_order"):
        Runner.from_cfg(other).train()
    wrong = tiny(work_dir, dict(type="FineTune"), experiment_name="wrong")
    wrong.resume = True
    with pytest.raises(ContinualCheckpointError, match="strategy ER"):
        Runner.from_cfg(wrong).train()
    foreign = work_dir / "foreign.pth"
    torch.save({"state_dict": {}}, foreign)
    again = tiny(work_dir, strategy, experiment_name="again")
    again.resume, again.load_from = True, str(foreign)
    with pytest.raises(ContinualCheckpointError, match="not a continual task checkpoint"):
        Runner.from_cfg(again).train()


def test_a_diverging_strategy_stops_with_a_clear_error(tmp_path):
    with pytest.raises(FloatingPointError, match=r"non-finite loss in task 1, epoch 1, step 0"):
        Runner.from_cfg(tiny(tmp_path, dict(type="ExplodingLoss"))).train()
