"""tools/analysis/complexity.py and zoo.analysis.complexity (shared with the benchmarks)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from zoo.analysis.complexity import config_complexity, count_flops, count_params
from zoo.analysis.input_spec import input_spec

ROOT = Path(__file__).resolve().parents[2]


def test_flops_of_a_hand_counted_model():
    linear = torch.nn.Linear(10, 20).train()
    assert count_flops(linear, torch.randn(2, 10)) == 2 * 2 * 10 * 20  # multiply-add = 2
    assert linear.training  # mode restored
    conv = torch.nn.Conv1d(1, 4, 3)
    assert count_flops(conv, torch.randn(1, 1, 12)) == 2 * 4 * 10 * 3
    assert count_params(linear) == 10 * 20 + 20


def test_ctrgcn_config_matches_the_official_size_and_the_benchmark():
    """1,446,672 parameters (the official CTR-GCN Model, 60 classes) and the FLOPs that
    benchmarks/ctrgcn_complexity.py recorded for [1, 2, 64, 25, 3]."""
    ref = json.loads((ROOT / "benchmarks/results/ctrgcn_complexity.json").read_text())
    out = config_complexity(ROOT / "configs/skeleton/ctrgcn_ntu60_xsub_joint.py",
                            shape=[1, 2, 64, 25, 3])
    assert out["params"] == ref["ctrgcn_ntu60"]["params"] == 1_446_672
    assert out["gflops"] == pytest.approx(ref["ctrgcn_ntu60"]["gflops"], rel=1e-9)


def test_input_spec_of_skeleton_configs():
    spec = input_spec(Config.fromfile(str(ROOT / "configs/skeleton/stgcn_synthetic.py")))
    assert spec["layout"] == "ntu25" and spec["persons"] == 1 and spec["frames"] == 32
    assert spec["streams"] == ["j"] and spec["clips"] == 5
    cfg = Config.fromfile(str(ROOT / "configs/skeleton/stgcn_pyskl_ntu60_xsub_hrnet2d_joint.py"))
    from zoo.analysis.complexity import build_from_config

    spec = input_spec(cfg, build_from_config(cfg))
    assert spec["shape"] == [1, 2, 100, 17, 3] and "not fixed" in spec["frames_from"]


def _tool():
    spec = importlib.util.spec_from_file_location("complexity_tool",
                                                  ROOT / "tools/analysis/complexity.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tool_prints_params_and_flops(capsys):
    out = _tool().main([str(ROOT / "configs/skeleton/stgcn_synthetic.py"), "--json"])
    assert json.loads(capsys.readouterr().out) == out
    assert out["input"] == [1, 1, 32, 25, 3] and out["params"] > 100_000 and out["gflops"] > 0.1
    # the same model on twice the frames: twice the FLOPs, same parameters
    longer = config_complexity(ROOT / "configs/skeleton/stgcn_synthetic.py", [1, 1, 64, 25, 3])
    assert longer["params"] == out["params"]
    assert longer["flops"] == pytest.approx(2 * out["flops"], rel=0.01)


def test_a_config_without_usable_data_asks_for_a_shape(tmp_path):
    cfg = Config.fromfile(str(ROOT / "configs/wsi/abmil_synthetic.py"))
    for key in ("train_dataloader", "val_dataloader", "test_dataloader"):
        if cfg.get(key):
            cfg[key]["dataset"]["label_csv"] = str(tmp_path / "none.csv")
    with pytest.raises(ValueError, match="cannot make an input.*--shape"):
        config_complexity(cfg)
