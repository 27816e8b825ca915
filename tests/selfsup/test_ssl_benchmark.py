"""benchmarks/ssl_msr3d.py: adding one method's rows to an existing table (--merge)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def load_benchmark():
    spec = importlib.util.spec_from_file_location("bench_ssl_msr3d",
                                                  REPO / "benchmarks" / "ssl_msr3d.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_merge_keeps_the_other_rows_and_records_both_commands(tmp_path):
    bench = load_benchmark()
    out = tmp_path / "ssl"
    old_args = {"seeds": [0, 1, 2], "methods": ["HiCLR"], "small": True,
                "pretrain_epochs": 40, "eval_epochs": 30}
    old_rows = {"random encoder / scratch": {"linear": [30.0, 31.0, 32.0]},
                "HiCLR": {"linear": [35.0, 36.0, 37.0]}, "HaLP": {"linear": [1.0]}}
    out.with_suffix(".json").write_text(json.dumps({"args": old_args, "rows": old_rows}))
    args = bench.parse_args(["--small", "--pretrain-epochs", "40", "--eval-epochs", "30",
                             "--methods", "HaLP", "--no-baseline", "--merge",
                             "--out", str(out)])
    bench.write(args, {"HaLP": {"linear": [40.0, 41.0, 42.0]}})
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved["rows"]["HiCLR"] == old_rows["HiCLR"]
    assert saved["rows"]["random encoder / scratch"] == old_rows["random encoder / scratch"]
    assert saved["rows"]["HaLP"] == {"linear": [40.0, 41.0, 42.0]}  # replaced, not appended
    first, second = saved["commands"]
    assert "--methods HiCLR" in first and "--merge" not in first
    assert "--methods HaLP --no-baseline --merge" in second
    table = out.with_suffix(".md").read_text()
    assert "| HiCLR | 36.0 ± 0.8 (n=3)" in table and "| HaLP | 41.0 ± 0.8 (n=3)" in table
    assert first in table and second in table
    # a table made with other schedules is not merged into
    args.eval_epochs = 10
    with pytest.raises(ValueError, match="eval_epochs"):
        bench.write(args, {"HaLP": {"linear": [1.0]}})


def test_val_protocol_scores_subject_9_only_and_names_variants(tmp_path, monkeypatch):
    bench = load_benchmark()
    args = bench.parse_args(["--protocol", "val", "--methods", "HaLP", "--seeds", "0",
                             "--pretrain-options", "model.halp_loss.loss_weight=0.5",
                             "--cache-dir", str(tmp_path), "--out", str(tmp_path / "val")])
    calls = []
    monkeypatch.setattr(bench, "pretrain", lambda a, method, seed: f"{method}.pth")
    monkeypatch.setattr(bench, "evaluate", lambda a, config, name, *rest: calls.append(
        (config, name)) or 50.0)
    monkeypatch.setattr(bench, "knn", lambda a, name, *rest: calls.append(("knn", name)) or 40.0)
    rows = bench.collect(args)
    # the linear classifier is validated on subject 9; no label-fraction fine-tuning
    assert {config for config, _ in calls} == {bench.LINEAR_VAL, "knn"}
    row = "HaLP (model.halp_loss.loss_weight=0.5)"
    assert set(rows) == {bench.BASELINE, row}
    assert set(rows[row]) == {"linear", "knn"}
    # cells are cached under their own names: the test protocol's cells are not reused
    names = sorted(p.stem for p in tmp_path.glob("*.json"))
    assert names == ["val_knn_HaLP_model.halp_loss.loss_weight=0.5_s0", "val_knn_random_s0",
                     "val_linear_HaLP_model.halp_loss.loss_weight=0.5_s0",
                     "val_linear_random_s0"]
    bench.write(args, rows)
    table = (tmp_path / "val.md").read_text()
    assert "validation protocol" in table and "held-out training subject 9" in table
    assert "| encoder | linear eval | k-NN |\n" in table
    assert f"| {row} | 50.0 ± 0.0 (n=1) | 40.0 ± 0.0 (n=1) |" in table
    assert "--protocol val" in table and "--pretrain-options model.halp_loss" in table


def test_variant_folders_differ_by_options():
    bench = load_benchmark()
    plain = bench.parse_args(["--methods", "HaLP"])
    assert bench.variant(plain, "HaLP") == ("HaLP", "HaLP")
    mu = bench.parse_args(["--methods", "HaLP", "--pretrain-options",
                           "model.halp_loss.loss_weight=1", "model.warmup_keys=0"])
    row, folder = bench.variant(mu, "HaLP")
    assert row == "HaLP (model.halp_loss.loss_weight=1 model.warmup_keys=0)"
    assert folder == "HaLP_model.halp_loss.loss_weight=1_model.warmup_keys=0"
