"""benchmarks/unlearning_select.py: the selection rule, and its settings fed to the table."""
import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / f"benchmarks/{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def select():
    return _load("unlearning_select")


@pytest.fixture(scope="module")
def table():
    return _load("unlearning")


def _trial(lr, forget, retain, val, seconds=1.0):
    return dict(config=dict(type="X", lr=lr), forget_acc=forget, retain_acc=retain,
                val_acc_kept=val, seconds=seconds)


def test_rule_prefers_validation_accuracy_among_settings_that_forget(select):
    trials = [_trial(1, 0.0, 90.0, 60.0), _trial(2, 4.0, 95.0, 70.0),
              _trial(3, 30.0, 99.0, 90.0)]  # best validation but does not forget
    chosen = select.choose(trials, forget_tol=5.0)
    assert chosen["config"]["lr"] == 2 and chosen["forgets"]


def test_rule_breaks_ties_by_retain_accuracy_then_time(select):
    trials = [_trial(1, 0.0, 90.0, 70.0, 5.0), _trial(2, 0.0, 95.0, 70.0, 9.0),
              _trial(3, 0.0, 95.0, 70.0, 2.0)]
    assert select.choose(trials, 5.0)["config"]["lr"] == 3


def test_rule_flags_a_method_that_never_forgets(select):
    trials = [_trial(1, 50.0, 99.0, 80.0), _trial(2, 20.0, 90.0, 60.0)]
    chosen = select.choose(trials, 5.0)
    assert chosen["config"]["lr"] == 2 and not chosen["forgets"]


def test_grid_is_the_product_of_its_axes(select):
    cfgs = select.grid(dict(type="FineTune"), epochs=[2, 5], lr=[0.1, 0.2, 0.3])
    assert len(cfgs) == 6 and dict(type="FineTune", epochs=5, lr=0.3) in cfgs
    assert all(len(v) >= 2 for v in select.GRIDS.values())


def test_table_takes_the_chosen_settings(table):
    suite = table.unlearner_suite("msr3d")
    selection = dict(methods={
        "NegGrad+": dict(chosen=dict(config=dict(type="NegGradPlus", epochs=2, lr=0.005))),
        "SSD": dict(chosen=dict(config=dict(type="SSD", alpha=30.0, lam=1.0)))})
    new = dict(table.apply_settings(suite, selection))
    assert new["NegGrad+"] == dict(type="NegGradPlus", epochs=2, lr=0.005)
    gu = new["NegGrad+ +GU"]  # the base method's choice, with its projection kept
    assert gu["lr"] == 0.005 and gu["epochs"] == 2 and gu["projection"] == dict(
        num_batches=4, refresh_every=5)
    old = dict(suite)
    assert new["SCRUB"] == old["SCRUB"]  # no selection: unchanged
    assert [k for k in new if k.startswith("SSD")] == [k for k in old if k.startswith("SSD")]
    assert all(new[k] == old[k] for k in new if k.startswith("SSD"))


def test_selection_run_on_real_digits_writes_every_trial_and_forgets(select, trained, tmp_path):
    _, _, ckpt = trained
    select.main(["--config", "configs/image/smallcnn_digits.py", "--checkpoint", str(ckpt),
                 "--name", "digits", "--only", "GradientAscent", "--out-dir", str(tmp_path)])
    result = json.loads((tmp_path / "unlearning_digits_selection.json").read_text())
    entry = result["methods"]["GradientAscent"]
    assert len(entry["trials"]) == len(select.GRIDS["GradientAscent"])
    assert entry["chosen"] == select.choose(entry["trials"], 5.0)
    assert entry["chosen"]["forgets"] and entry["chosen"]["forget_acc"] <= 5.0
    assert entry["chosen"]["retain_acc"] > 80.0  # forgetting digit 3 kept the others
    md = (tmp_path / "unlearning_digits_selection.md").read_text()
    assert md.count("| GradientAscent |") == len(entry["trials"]) and "| yes |" in md


def _subjects(loader_cfg, msr_dir) -> set[int]:
    from mmengine.registry import init_default_scope
    from zoo.datasets.skeleton.msr_action3d import parse_msr_name

    from zoo.registry import DATASETS

    init_default_scope("zoo")
    cfg = loader_cfg.dataset.to_dict()
    cfg.pop("pipeline", None)
    cfg["dataset"]["data_root"] = str(msr_dir)
    dataset = DATASETS.build(cfg)
    return {parse_msr_name(Path(dataset.get_data_info(i)["frame_dir"] + ".txt"))[1]
            for i in range(len(dataset))}


def test_validation_protocol_config_never_reads_the_test_subjects(msr_dir):
    """configs/skeleton/stgcn_msr3d_xsub_val.py, on which the MSR settings are chosen: trains
    on subjects 1, 3, 5, 7 and its val AND test loaders hold subject 9 only (real file names)."""
    from mmengine.config import Config

    cfg = Config.fromfile(REPO / "configs/skeleton/stgcn_msr3d_xsub_val.py")
    assert _subjects(cfg.train_dataloader, msr_dir) == {1, 3, 5, 7}
    assert _subjects(cfg.val_dataloader, msr_dir) == {9}
    assert _subjects(cfg.test_dataloader, msr_dir) == {9}
