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
        if opts.get("kind") == "plain":  # a non-continual config: test metrics returned
            return {"acc/top1": 50.0 + seed, "label": "x"}
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
