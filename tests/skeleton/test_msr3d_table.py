"""benchmarks/skeleton_msr3d.py: seconds per epoch from run logs and a row per sweep."""
import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def table():
    spec = importlib.util.spec_from_file_location("msr_table",
                                                  REPO / "benchmarks/skeleton_msr3d.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _line(stamp: str, text: str) -> str:
    return f"{stamp} - mmengine - INFO - {text}\n"


def test_epoch_seconds_are_the_gaps_between_epoch_ends_without_validation(table, tmp_path):
    log = tmp_path / "run.log"
    log.write_text(
        _line("12/06 09:18:10", "Epoch(train)  [1][19/19]  lr: 1e-2  loss: 3.0")
        + _line("12/06 09:18:15", "Epoch(train)  [2][10/19]  lr: 1e-2  loss: 2.9")  # mid-epoch
        + _line("12/06 09:18:40", "Epoch(train)  [2][19/19]  lr: 1e-2  loss: 2.9")
        + _line("12/06 09:19:20", "Epoch(train)  [3][19/19]  lr: 1e-2  loss: 2.8")
        + _line("12/06 09:19:50", "Epoch(val) [3][4/4]    top1: 50.0000")
        + _line("12/06 09:21:20", "Epoch(train)  [4][19/19]  lr: 1e-2  loss: 2.5")  # val gap
        + _line("12/06 09:21:45", "Epoch(train)  [5][19/19]  lr: 1e-2  loss: 2.4"))
    assert table.epoch_seconds(log) == [30.0, 40.0, 25.0]


def test_a_row_counts_finished_seeds_and_names_stopped_ones(table, tmp_path):
    sweep = tmp_path / "ensemnn_j"
    for seed, top in [(0, 80.0), (1, 84.0)]:
        work = sweep / "runs/default" / f"seed{seed}"
        work.mkdir(parents=True)
        (work / "final_test_metrics.json").write_text(f'{{"top1": {top}}}')
    (sweep / "runs/default/seed2").mkdir()
    (sweep / "logs").mkdir()
    (sweep / "logs/default_seed2.log").write_text(
        _line("2026/12/06 09:18:10", "Epoch(train)  [1][19/19]  loss: 3.0")
        + _line("2026/12/06 09:18:30", "Epoch(train)  [2][19/19]  loss: 2.0"))
    row = table.row("ensemnn_j", "Ensem-NN", "configs/skeleton/cnn1d_ensemble_msr3d_xsub.py",
                    [], tmp_path)
    assert row["seeds"] == [0, 1] and row["unfinished"] == [dict(seed=2, epochs_done=2)]
    assert row["test_top1"]["mean"] == 82.0 and row["test_top1"]["std"] == pytest.approx(8 ** 0.5)
    assert row["seconds_per_epoch"] == 20.0 and row["max_epochs"] == 40
    assert row["params"] > 0 and row["test_clips"] == 10
    md = table.markdown([row, dict(table.row("missing", "X", row["config"], [], tmp_path))],
                        "note", "cmd")
    assert "| nothing tuned | 82.0 ± 2.8 (n = 2) | 0,1; stopped: seed 2 at epoch 2 |" in md
    assert "not run this session | none |" in md
    (sweep / "runs/default/seed0/final_test_metrics.json").unlink()
    (sweep / "runs/default/seed1/final_test_metrics.json").unlink()
    stopped = table.markdown([table.row("ensemnn_j", "E", row["config"], [], tmp_path)], "", "")
    assert "no seed finished | none; stopped: seed 0 at epoch 0, seed 1 at epoch 0, seed 2" \
        in stopped


def test_one_seed_shows_no_spread(table, tmp_path):
    work = tmp_path / "one/runs/default/seed0"
    work.mkdir(parents=True)
    (work / "final_test_metrics.json").write_text('{"top1": 60.0}')
    row = table.row("one", "B", "configs/skeleton/cnn1d_ensemble_msr3d_xsub.py", [], tmp_path)
    md = table.markdown([row], "", "")
    assert "| 60.0 (n = 1) | 0 |" in md and "± 0.0" not in md


def test_a_row_shows_the_validation_choice_and_the_runs_own_overrides(table, tmp_path):
    """The row's config options come from its sweep.json (the chosen learning rate), and the
    validation sweep's points and choice are listed."""
    import json

    final = tmp_path / "stgcn_j"
    work = final / "runs/default/seed0"
    work.mkdir(parents=True)
    (work / "final_test_metrics.json").write_text('{"top1": 70.0}')
    options = ["optim_wrapper.optimizer.lr=0.1", table.FINAL]
    (final / "sweep.json").write_text(json.dumps(dict(cfg_options=options)))
    val = tmp_path / "stgcn_val"
    val.mkdir()
    lr = "optim_wrapper.optimizer.lr"
    (val / "sweep.json").write_text(json.dumps(dict(
        command="tools/sweep.py X --select val/top1",
        rows=[dict(options={lr: 0.05}, seeds=[0],
                   metrics={"val/top1": dict(mean=60.0), "val/best_top1": dict(mean=62.0)}),
              dict(options={lr: 0.1}, seeds=[0],
                   metrics={"val/top1": dict(mean=65.0), "val/best_top1": dict(mean=65.0)})],
        selected=dict(options={lr: 0.1}, key="val/top1"))))
    row = table.row("stgcn_j", "ST-GCN (recipe)", "configs/skeleton/recipes/stgcn_msr3d_xsub.py",
                    [], tmp_path, ("stgcn_val", "stgcn_val_w2"))
    assert row["cfg_options"] == options and row["validation"]["selected"] == "lr 0.1"
    md = table.markdown([row], "", "")
    assert "| lr 0.1 | 70.0 (n = 1) | 0 |" in md
    assert "- ST-GCN: lr 0.05: last 60.0, best 62.0 (seeds 0); lr 0.1: last 65.0" in md
    assert "`uv run tools/sweep.py X --select val/top1`" in md
    # a second validation sweep of the same backbone (another config, fixed overrides) that
    # validates higher becomes the choice, labelled by its config and overrides
    wide = tmp_path / "stgcn_val_w2"
    wide.mkdir()
    (wide / "sweep.json").write_text(json.dumps(dict(
        command="tools/sweep.py Y", config="configs/other.py",
        cfg_options=["randomness.seed=0", "model.backbone.base_channels=64"],
        rows=[dict(options={lr: 0.1}, seeds=[0], metrics={"val/top1": dict(mean=66.0)})])))
    row = table.row("stgcn_j", "ST-GCN (recipe)", "configs/skeleton/recipes/stgcn_msr3d_xsub.py",
                    [], tmp_path, ("stgcn_val", "stgcn_val_w2"))
    assert row["validation"]["selected"] == "other: base_channels 64, lr 0.1"
    md = table.markdown([row], "", "")
    assert "other: base_channels 64, lr 0.1: last 66.0, best – (seeds 0)." in md
    assert "`uv run tools/sweep.py Y`" in md


def test_curves_png_has_one_panel_per_validation_sweep(table, tmp_path):
    """The curves PNG reads each validation run's scalars (val top-1 and training loss)."""
    import json

    from PIL import Image

    run = tmp_path / "x_val/runs/lr-0.1/seed0/20261206_101010/vis_data"
    run.mkdir(parents=True)
    records = [dict(lr=0.1, loss=2.0 - e / 10, epoch=e, iter=10 * e, step=10 * e)
               for e in range(1, 11)]
    records += [dict(top1=10.0 * e, step=e) for e in (5, 10)]
    (run / "scalars.json").write_text("\n".join(map(json.dumps, records)) + "\n")
    losses = table.train_loss_by_epoch(run.parents[1])
    assert losses[1] == pytest.approx(1.9) and losses[10] == pytest.approx(1.0)
    rows = [dict(backbone="X (recipe)", validation=dict(points=[]), validation_keys=["x_val"]),
            dict(backbone="Y", validation=None, validation_keys=[])]
    png = tmp_path / "curves.png"
    table.plot_validation_curves(rows, tmp_path, str(png))
    width, height = Image.open(png).size
    assert width > height > 100  # one panel
    assert [p.name for p in tmp_path.glob("*.png")] == ["curves.png"]  # no temporary left


def test_validation_sweeps_are_listed_once_per_backbone(table):
    """A second row of a backbone whose validation sweeps are a subset of the first's (an
    earlier round of the same recipe) adds no second line."""
    def row(name, commands):
        return dict(backbone=name, validation=dict(
            commands=commands, points=[dict(label="lr 0.1", last=50.0, best=60.0, seeds=[0])]))

    lines = table._validation_section([row("SkateFormer (recipe)", ["a", "b", "c"]),
                                       row("SkateFormer (first round)", ["a", "b"]),
                                       row("ST-GCN (recipe)", ["d"])])
    listed = [line for line in lines if line.startswith("- ")]
    assert [line.split(":")[0] for line in listed] == ["- SkateFormer", "- ST-GCN"]
