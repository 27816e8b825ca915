"""Issue 18 item 8 / issue 19 item 4: the config check covers the runner's sections and the
continual loop, and a syntax error names the file."""
import importlib.util
from pathlib import Path

import pytest
from mmengine.config import Config

from zoo.config_check import ConfigError, check_config, read_config

REPO = Path(__file__).resolve().parents[2]
SYNTHETIC = str(REPO / "configs/skeleton/stgcn_synthetic.py")
CONTINUAL = str(REPO / "configs/continual/split_digits/ewc.py")


def checked(path, **options):
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(options)
    with pytest.raises(ConfigError) as info:
        check_config(cfg)
    assert str(info.value).startswith(f"{path}: ")
    return str(info.value)


def test_optimizer_typo_is_named_with_the_close_match():
    message = checked(SYNTHETIC, **{"optim_wrapper.optimizer.type": "SDG"})
    assert ("optim_wrapper.optimizer.type: 'SDG' is not a registered optimizer; did you mean "
            "SGD?") in message


def test_optim_wrapper_and_constructor_types_are_checked():
    message = checked(SYNTHETIC, **{"optim_wrapper.type": "AmpOptimWraper",
                                    "optim_wrapper.constructor": "NoSuchConstructor"})
    assert "optim_wrapper.type: 'AmpOptimWraper' is not a registered optim_wrapper; did you " \
           "mean AmpOptimWrapper" in message
    assert "optim_wrapper.constructor.type: 'NoSuchConstructor' is not a registered " \
           "optimizer wrapper constructor" in message


def test_scheduler_and_hook_typos_are_named():
    message = checked(SYNTHETIC, **{
        "param_scheduler": [dict(type="CosineAnnealingLRR", T_max=3)],
        "custom_hooks": [dict(type="EpochSeedHock")],
        "default_hooks.logger.type": "LogerHook"})
    assert "param_scheduler[0].type: 'CosineAnnealingLRR' is not a registered parameter " \
           "scheduler; did you mean CosineAnnealingLR" in message
    assert "custom_hooks[0].type: 'EpochSeedHock' is not a registered hook; did you mean " \
           "EpochSeedHook" in message
    assert "default_hooks.logger.type: 'LogerHook' is not a registered hook; did you mean " \
           "LoggerHook" in message


def test_continual_loop_strategy_and_scenario_are_checked():
    message = checked(CONTINUAL, **{"train_cfg.strategy.type": "EWCC",
                                    "train_cfg.scenario.num_task": 5})
    assert "train_cfg.strategy.type: 'EWCC' is not a registered continual strategy; did you " \
           "mean EWC" in message
    assert "train_cfg.scenario.num_task: ClassIncrementalScenario takes no argument " \
           "'num_task'; did you mean 'num_tasks'?" in message
    message = checked(CONTINUAL, **{"train_cfg.strategy.lamda_": 10.0})
    assert "train_cfg.strategy.lamda_: EWC takes no argument 'lamda_'; did you mean " \
           "'lambda_'?" in message
    cfg = Config.fromfile(CONTINUAL)
    cfg.train_cfg["scenarios"] = cfg.train_cfg.pop("scenario")
    with pytest.raises(ConfigError, match="train_cfg.scenarios: ContinualTrainLoop takes no "
                                          "argument 'scenarios'; did you mean 'scenario'"):
        check_config(cfg)
    cfg = Config.fromfile(CONTINUAL)
    cfg.train_cfg.type = "ContinualTrainLop"
    with pytest.raises(ConfigError, match="train_cfg.type: 'ContinualTrainLop' is not a "
                                          "registered loop; did you mean ContinualTrainLoop"):
        check_config(cfg)


def test_every_shipped_config_passes_the_check():
    files = sorted(p for p in (REPO / "configs").rglob("*.py") if "_base_" not in p.parts)
    assert len(files) > 30
    for path in files:
        check_config(Config.fromfile(str(path)))


def test_train_tool_names_the_optimizer_typo_before_building(tmp_path):
    spec = importlib.util.spec_from_file_location("tool_train", REPO / "tools/train.py")
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    with pytest.raises(ConfigError, match="'SDG' is not a registered optimizer; did you mean "
                                          "SGD"):
        train.main([SYNTHETIC, "--work-dir", str(tmp_path), "--cfg-options",
                    "optim_wrapper.optimizer.type=SDG"])


def test_syntax_error_names_the_file_and_line(tmp_path):
    bad = tmp_path / "broken.py"
    bad.write_text("model = dict(type='X'\nlr = 0.1\n")
    with pytest.raises(SyntaxError, match=rf"{bad}, line 1: the config is not valid Python"):
        read_config(bad)
    child = tmp_path / "child.py"
    child.write_text("_base_ = ['./broken.py']\nx = 1\n")
    with pytest.raises(SyntaxError, match=rf"{bad}, line 1: the config is not valid Python"):
        read_config(child)
    from zoo.runner_utils import load_config

    with pytest.raises(SyntaxError, match=rf"{bad}, line 1"):
        load_config(str(child))
