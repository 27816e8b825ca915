"""Strategies see the loop through a narrow StrategyContext, and carry their report family."""
import json
from pathlib import Path

import torch
from mmengine.runner import Runner

import zoo.continual.strategies as strategies
from zoo.continual import report
from zoo.continual.context import StrategyContext
from zoo.continual.strategies import Strategy
from zoo.registry import STRATEGIES
from zoo.runner_utils import load_config

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / "configs/continual/split_digits/finetune.py")
FAMILIES = {"upper bound", "lower bound", "replay", "regularisation", "parameter isolation",
            "other"}


def test_every_registered_strategy_names_a_known_family():
    classes = {name: STRATEGIES.get(name) for name in STRATEGIES.module_dict}
    assert {"FineTune", "Joint", "ER", "EWC", "CLR"} <= set(classes)
    for name, cls in classes.items():
        assert cls.family in FAMILIES, name
    assert strategies.Joint.family == "upper bound"
    assert strategies.FineTune.family == "lower bound"
    assert strategies.ER.family == strategies.ICaRL.family == strategies.KFPF.family == "replay"
    assert strategies.LwF.family == strategies.PRD.family == "regularisation"
    assert strategies.CLR.family == "parameter isolation"
    assert Strategy.family == "other"


def _result(tmp_path, name, strategy, acc, cfg=None):
    d = tmp_path / name
    d.mkdir()
    metrics = dict(average_accuracy=acc, average_incremental_accuracy=acc,
                   forgetting=100 - acc, backward_transfer=acc - 100)
    (d / "continual_results.json").write_text(json.dumps(dict(
        strategy=strategy, strategy_cfg=cfg, metrics=metrics, task_aware_metrics=metrics,
        task_train_seconds=[1.0], epochs_per_task=1, accuracy_matrix=[[acc]])))
    return str(d)


def test_report_family_comes_from_the_strategy_class(tmp_path):
    """Variant names (ER-herding, EWC-rank1) resolve through the config's type; an unknown
    strategy is 'other' rather than an error."""
    rows = report.collect({
        "herding": _result(tmp_path, "herding", "ER-herding", 70.0,
                           dict(type="ER", buffer=dict(type="herding"))),
        "rank1": _result(tmp_path, "rank1", "EWC-rank1", 40.0,
                         dict(type="EWC", fisher_type="rank1")),
        "mystery": _result(tmp_path, "mystery", "NotAStrategy", 10.0)})
    assert {r["run"]: r["family"] for r in rows} == {
        "herding": "replay", "rank1": "regularisation", "mystery": "other"}


def test_the_loop_hands_strategies_a_context_not_itself(tmp_path):
    cfg = load_config(CONFIG, {"model.backbone.channels": (4, 8),
                               "model.cls_head.in_channels": 8,
                               "train_dataloader.batch_size": 48}, str(tmp_path))
    runner = Runner.from_cfg(cfg)
    loop = runner.train_loop
    ctx = loop.strategy.context
    assert isinstance(ctx, StrategyContext) and ctx is not loop
    assert loop.strategy.loop is ctx  # the old attribute name reads the same context
    assert not hasattr(ctx, "_eval_batch_size") and not hasattr(ctx, "run_iter")
    assert (ctx.scenario, ctx.seed, ctx.batch_size, ctx.global_batch_size, ctx.max_iters) == (
        loop.scenario, loop.seed, loop.batch_size, loop.global_batch_size, loop.max_iters)
    assert ctx.generator is loop.generator
    assert set(ctx.task_dataset(1).labels.tolist()) == set(
        loop.task_dataset(1).labels.tolist())
    x, y = ctx.collect(ctx.task_dataset(0))
    assert len(x) == len(y) == len(loop.task_dataset(0))
    batch = {"x": torch.arange(6)}
    assert ctx.rank_share(batch) is batch  # one process: identities
    # the evaluation batch size is available before any evaluation has run
    assert loop.eval_batch_size == runner.val_loop.dataloader.batch_size
