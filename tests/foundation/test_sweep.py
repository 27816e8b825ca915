"""tools/sweep.py: seeds x grid runs in separate processes, one mean ± std table."""
import importlib.util
import json
import statistics
import textwrap
from pathlib import Path

import pytest

from zoo import sweep

REPO = Path(__file__).resolve().parents[2]

# A stand-in for tools/train.py: its "metrics" are a known function of the seed and of the
# grid value, so the table can be checked exactly; lambda_=bad fails like a broken run.
FAKE_TRAIN = textwrap.dedent('''
    import json, sys
    from pathlib import Path

    def main(argv):
        work_dir = Path(argv[argv.index("--work-dir") + 1])
        opts = dict(a.split("=", 1) for a in argv[argv.index("--cfg-options") + 1:])
        if opts.get("lam") == "bad":
            raise SystemExit(3)
        seed, lam = int(opts["randomness.seed"]), float(opts.get("lam", 0))
        work_dir.mkdir(parents=True, exist_ok=True)
        (work_dir / "argv.json").write_text(json.dumps(argv))
        if opts.get("kind") == "plain":  # a non-continual config: test metrics returned
            return {"acc/top1": 50.0 + seed, "label": "x"}
        if opts.get("kind") in ("val", "final"):  # mmengine's scalars: train and val records
            vis = work_dir / "20261206_101010" / "vis_data"
            vis.mkdir(parents=True)
            records = [dict(lr=0.1, loss=2.0, epoch=1, iter=10, step=10, time=0.5),
                       dict(top1=40.0, top5=90.0, time=0.2, data_time=0.1, step=5),
                       dict(top1=60.0 - lam + seed, step=10),
                       dict(lr=0.01, loss=0.5, epoch=15, iter=150, step=150, time=0.5),
                       dict(top1=50.0 + lam, step=15)]
            (vis / "scalars.json").write_text("\\n".join(map(json.dumps, records)) + "\\n")
            # the test metrics as the sweep's worker writes them (it would import the zoo)
            test = {"top1": (70.0 if opts["kind"] == "final" else 0.0) + lam + seed}
            (work_dir / "final_test_metrics.json").write_text(json.dumps(test))
            return {}
        metrics = dict(average_accuracy=10 * seed + lam, forgetting=seed * seed)
        (work_dir / "continual_results.json").write_text(json.dumps(dict(
            metrics=metrics, task_aware_metrics=dict(average_accuracy=90.0 + seed))))
        return {}
''')


@pytest.fixture
def fake(tmp_path):
    script = tmp_path / "fake_train.py"
    script.write_text(FAKE_TRAIN)
    config = tmp_path / "cfg.py"
    config.write_text("x = 1\n")
    return str(script), str(config)


def test_values_split_on_top_level_commas_only():
    assert sweep.split_values("1,2,(3,4),'a,b'") == ["1", "2", "(3,4)", "'a,b'"]
    assert sweep.parse_grid(["a.b=1,2", "c=x"]) == [("a.b", ["1", "2"]), ("c", ["x"])]
    assert sweep.grid_points(sweep.parse_grid(["a=1,2", "b=x,y"])) == [
        {"a": "1", "b": "x"}, {"a": "1", "b": "y"}, {"a": "2", "b": "x"}, {"a": "2", "b": "y"}]
    for bad, msg in [("a", "KEY=V1"), ("a=1,,2", "empty value")]:
        with pytest.raises(ValueError, match=msg):
            sweep.parse_grid([bad])
    with pytest.raises(ValueError, match="twice"):
        sweep.parse_grid(["a=1", "a=2"])


def test_table_is_the_mean_and_sample_std_of_the_runs(fake, tmp_path):
    script, config = fake
    out = tmp_path / "out"
    payload = sweep.run_sweep(config, seeds=[0, 1, 3], grid=["lam=1,5"], jobs=2, out=out,
                              train_script=script)
    rows = {r["point"]: r for r in payload["rows"]}
    assert list(rows) == ["lam-1", "lam-5"]
    for lam in (1, 5):
        m = rows[f"lam-{lam}"]["metrics"]
        acc = [10 * s + lam for s in (0, 1, 3)]
        assert m["average_accuracy"]["mean"] == pytest.approx(statistics.mean(acc))
        assert m["average_accuracy"]["std"] == pytest.approx(statistics.stdev(acc))
        assert m["forgetting"]["mean"] == pytest.approx(statistics.mean([0, 1, 9]))
        assert m["task_aware/average_accuracy"]["mean"] == pytest.approx(91 + 1 / 3)
        assert m["average_accuracy"]["n"] == 3
    # the files on disk say the same, and the markdown shows it
    saved = json.loads((out / "sweep.json").read_text())
    assert saved["rows"] == payload["rows"]
    md = (out / "sweep.md").read_text()
    assert "| lam-5 | 0,1,3 | 18.33 ± 15.28 |" in md
    assert not list(out.rglob("*.tmp"))
    # a second sweep into the same folder is refused unless finished runs are reused
    with pytest.raises(FileExistsError, match="--reuse"):
        sweep.run_sweep(config, seeds=[0], grid=["lam=1"], out=out, train_script=script)
    again = sweep.run_sweep(config, seeds=[0], grid=["lam=1"], out=out, train_script=script,
                            reuse=True)
    assert again["runs"][0]["seconds"] == 0.0
    # an unfinished run is retried with --move-old-run (tools/train.py's guard of used dirs)
    (out / "runs/lam-5/seed0/continual_results.json").unlink()
    (out / "runs/lam-5/seed0/partial.log").write_text("killed")
    retried = sweep.run_sweep(config, seeds=[0], grid=["lam=5"], out=out, train_script=script,
                              reuse=True)
    assert retried["runs"][0]["status"] == "ok"
    assert "--move-old-run" in retried["runs"][0]["args"]
    assert not any("--move-old-run" in r["args"] for r in payload["runs"])


def test_failed_runs_are_reported_and_left_out_of_the_mean(fake, tmp_path):
    script, config = fake
    payload = sweep.run_sweep(config, seeds=[0, 1], grid=["lam=2,bad"], out=tmp_path / "o",
                              train_script=script)
    rows = {r["point"]: r for r in payload["rows"]}
    assert rows["lam-bad"]["failed_seeds"] == [0, 1] and rows["lam-bad"]["metrics"] == {}
    assert rows["lam-2"]["seeds"] == [0, 1]
    assert {r["status"] for r in payload["runs"] if r["point"]["lam"] == "bad"} == {
        "failed (exit 3)"}
    assert "failed: 0,1" in (tmp_path / "o/sweep.md").read_text()


def test_non_continual_runs_report_their_final_test_metrics(fake, tmp_path):
    script, config = fake
    payload = sweep.run_sweep(config, seeds=[2, 4], cfg_options=["kind=plain"], jobs=2,
                              out=tmp_path / "o", train_script=script)
    (row,) = payload["rows"]
    assert row["metrics"] == {"acc/top1": {"mean": 53.0, "std": pytest.approx(2 ** 0.5),
                                           "n": 2}}


def _tool():
    spec = importlib.util.spec_from_file_location("sweep_tool", REPO / "tools/sweep.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


@pytest.mark.slow
def test_real_continual_and_plain_configs_table_matches_the_run_files(tmp_path):
    """Two seeds of a tiny split-digits run and of a plain digits classifier through
    tools/train.py; the table's numbers are those of the per-run files."""
    tiny = ["model.backbone.channels=(4,8)", "model.cls_head.in_channels=8",
            "default_hooks.logger.interval=1000"]
    payload = _tool().main([
        str(REPO / "configs/continual/split_digits/finetune.py"), "--seeds", "0", "1",
        "--jobs", "2", "--out", str(tmp_path / "cl"), "--cfg-options", *tiny,
        "train_cfg.scenario.num_tasks=2", "train_cfg.epochs_per_task=2"])
    files = [json.loads((Path(r["work_dir"]) / "continual_results.json").read_text())
             for r in payload["runs"]]
    (row,) = payload["rows"]
    for key in ("average_accuracy", "forgetting"):
        values = [f["metrics"][key] for f in files]
        assert row["metrics"][key]["mean"] == pytest.approx(statistics.mean(values))
        assert row["metrics"][key]["std"] == pytest.approx(statistics.stdev(values))
    assert [f["seed"] for f in files] == [0, 1]
    plain = _tool().main([
        str(REPO / "configs/image/smallcnn_digits.py"), "--seeds", "0", "1",
        "--out", str(tmp_path / "plain"), "--cfg-options", *tiny,
        "train_cfg.max_epochs=1", "train_cfg.val_interval=5"])
    tops = [json.loads((Path(r["work_dir"]) / sweep.FINAL_METRICS).read_text())
            for r in plain["runs"]]
    (row,) = plain["rows"]
    key = next(k for k in row["metrics"] if "top1" in k)
    assert row["metrics"][key]["mean"] == pytest.approx(statistics.mean(t[key] for t in tops))


def test_validation_curve_gives_last_best_and_its_epoch(fake, tmp_path):
    """val/<k> is the last validation, val/best_<k> the highest and its step; training
    records (lr, loss) and timings are not validation metrics."""
    script, config = fake
    payload = sweep.run_sweep(config, seeds=[0, 2], cfg_options=["kind=val", "lam=1"],
                              out=tmp_path / "o", train_script=script)
    run = payload["runs"][1]["metrics"]  # seed 2
    assert run == {"top1": 3.0, "val/top1": 51.0, "val/best_top1": 61.0,
                   "val/best_top1_step": 10.0, "val/top5": 90.0, "val/best_top5": 90.0,
                   "val/best_top5_step": 5.0}
    (row,) = payload["rows"]
    assert row["metrics"]["val/best_top1"] == {"mean": 60.0, "std": pytest.approx(2 ** 0.5),
                                               "n": 2}


def test_validation_curve_from_logs_and_resumed_sessions(tmp_path):
    """A session without scalars is read from its .log; a later session (resume) replaces
    the steps it repeats."""
    old, new = tmp_path / "20261206_080000", tmp_path / "20261206_090000"
    old.mkdir()
    (old / "20261206_080000.log").write_text(
        "2026/12/06 08:23:47 - mmengine - INFO - Epoch(train)  [5][7/7]  lr: 1.0e-01  loss: 2.1\n"
        "2026/12/06 08:23:47 - mmengine - INFO - Epoch(val) [5][7/7]    top1: 80.5000  "
        "top5: 99.0000  data_time: 0.0131  time: 0.7561\n"
        "2026/12/06 08:24:19 - mmengine - INFO - Epoch(val) [10][7/7]    top1: 90.5000\n")
    (new / "vis_data").mkdir(parents=True)
    (new / "vis_data" / "scalars.json").write_text(
        json.dumps(dict(top1=70.0, step=10)) + "\n" + json.dumps(dict(top1=75.0, step=15)))
    (tmp_path / "runs_aside").mkdir()  # not an mmengine session: ignored
    curve = sweep.read_val_curve(tmp_path)
    assert [(r["step"], r["top1"]) for r in curve] == [(5, 80.5), (10, 70.0), (15, 75.0)]
    assert sweep.val_metrics(curve) == {"val/top1": 75.0, "val/best_top1": 80.5,
                                        "val/best_top1_step": 5.0, "val/top5": 99.0,
                                        "val/best_top5": 99.0, "val/best_top5_step": 5.0}
    (new / "vis_data" / "scalars.json").write_text("{not json\n")
    with pytest.raises(ValueError, match="scalars.json, line 1"):
        sweep.read_val_curve(tmp_path)


def test_select_on_validation_then_one_final_run(fake, tmp_path):
    """--select ranks grid points on a val/ metric (best and last can disagree); the final
    run trains the chosen point once more with the final options and reports its test."""
    script, config = fake
    out = tmp_path / "o"
    # val/best_top1 = 60 - lam + seed favours lam=1; val/top1 (last) = 50 + lam favours lam=5
    payload = sweep.run_sweep(config, seeds=[0, 1], grid=["lam=1,5"], out=out,
                              cfg_options=["kind=val"], train_script=script,
                              select="val/best_top1", final_cfg_options=["kind=final"])
    assert payload["selected"]["point"] == "lam-1"
    assert payload["selected"]["value"]["mean"] == pytest.approx(59.5)
    (final,) = payload["final"]["rows"]
    assert final["metrics"]["top1"]["mean"] == pytest.approx(71.5)  # 70 + lam 1 + seeds 0, 1
    assert payload["final"]["cfg_options"] == ["kind=val", "lam=1", "kind=final"]
    md = (out / "sweep.md").read_text()
    assert "Selected on val/best_top1 (greater): **lam-1** (59.50 ± 0.71, n = 2)" in md
    assert "## Final run" in md and (out / "final" / "sweep.json").is_file()
    # the same runs (reused, nothing re-trained) ranked on the last validation instead
    last = sweep.run_sweep(config, seeds=[0, 1], grid=["lam=1,5"], out=out, reuse=True,
                           cfg_options=["kind=val"], train_script=script, select="val/top1")
    assert last["selected"]["point"] == "lam-5" and last["final"] is None
    assert {r["seconds"] for r in last["runs"]} == {0.0}
    low = sweep.run_sweep(config, seeds=[0, 1], grid=["lam=1,5"], out=out, reuse=True,
                          cfg_options=["kind=val"], train_script=script, select="val/top1",
                          select_rule="less")
    assert low["selected"]["point"] == "lam-1"


def test_amp_reaches_every_run_and_the_final_runs(fake, tmp_path):
    """--amp is passed to tools/train.py in the grid's runs and in the final re-runs (and
    only with --amp: the default sweep trains in fp32)."""
    script, config = fake
    payload = sweep.run_sweep(config, seeds=[0], grid=["lam=1,5"], out=tmp_path / "a",
                              cfg_options=["kind=val"], train_script=script, amp=True,
                              select="val/top1", final_cfg_options=["kind=final"])
    work_dirs = [Path(r["work_dir"]) for r in payload["runs"]]
    final = json.loads((tmp_path / "a" / "final" / "sweep.json").read_text())
    work_dirs += [Path(r["work_dir"]) for r in final["runs"]]
    assert len(work_dirs) == 3
    for work_dir in work_dirs:
        argv = json.loads((work_dir / "argv.json").read_text())
        assert "--amp" in argv[:argv.index("--cfg-options")], work_dir
    assert "--amp" in payload["command"]
    plain = sweep.run_sweep(config, seeds=[0], out=tmp_path / "b", train_script=script)
    argv = json.loads((Path(plain["runs"][0]["work_dir"]) / "argv.json").read_text())
    assert "--amp" not in argv


def test_selection_on_test_metrics_is_refused_before_any_run(fake, tmp_path):
    script, config = fake
    for key, msg in [("top1", "never on the test split"), ("acc/top1", "validation metric")]:
        with pytest.raises(ValueError, match=msg):
            sweep.run_sweep(config, seeds=[0], grid=["lam=1,2"], out=tmp_path / "o",
                            cfg_options=["kind=val"], train_script=script, select=key)
    assert not (tmp_path / "o").exists()
    with pytest.raises(ValueError, match="needs --select"):
        sweep.run_sweep(config, seeds=[0], grid=["lam=1,2"], out=tmp_path / "o",
                        train_script=script, final_cfg_options=[])
    # a val/ key no run reported: the table is still written, the error lists what exists
    with pytest.raises(ValueError, match="val/best_top1"):
        sweep.run_sweep(config, seeds=[0], grid=["lam=1"], out=tmp_path / "o4",
                        cfg_options=["kind=val"], train_script=script, select="val/nope")
    assert (tmp_path / "o4" / "sweep.md").is_file()


def test_a_config_validating_on_its_test_split_cannot_be_tuned(fake, tmp_path):
    """val/ metrics of a config whose val loader is its test loader are test metrics."""
    script, _ = fake
    same = tmp_path / "same.py"
    same.write_text("val_dataloader = dict(dataset=dict(type='D', split='test'))\n"
                    "test_dataloader = val_dataloader\n")
    with pytest.raises(ValueError, match="same data set as test_dataloader"):
        sweep.run_sweep(str(same), seeds=[0], out=tmp_path / "o", train_script=script,
                        select="val/top1")
    # an override that gives validation its own split makes it tunable
    payload = sweep.run_sweep(str(same), seeds=[0], out=tmp_path / "o2", train_script=script,
                              select="val/top1",
                              cfg_options=["val_dataloader.dataset.split=val", "kind=val"])
    assert payload["selected"]["point"] == "default"


def test_real_msr_configs_validation_is_not_the_test_split():
    """The shipped MSR recipes tune on subject 9; the plain MSR config validates on test."""
    sweep.check_val_is_not_test(str(REPO / "configs/skeleton/recipes/ctrgcn_msr3d_xsub.py"))
    with pytest.raises(ValueError, match="test metrics"):
        sweep.check_val_is_not_test(str(REPO / "configs/skeleton/stgcn_msr3d_xsub.py"))


def test_continual_task_scalars_are_not_validation_metrics(tmp_path):
    """The continual loop sends its per-task (test split) results to the visualiser as
    ``continual/...`` scalars; the sweep must not report them as ``val/`` metrics."""
    session = tmp_path / "20261206_090000" / "vis_data"
    session.mkdir(parents=True)
    (session / "scalars.json").write_text(
        json.dumps({"continual/accuracy/task_1": 90.0, "continual/average_accuracy": 90.0,
                    "step": 1}) + "\n" + json.dumps(dict(top1=60.0, step=2)) + "\n")
    assert sweep.val_metrics(sweep.read_val_curve(tmp_path)) == {
        "val/top1": 60.0, "val/best_top1": 60.0, "val/best_top1_step": 2.0}

