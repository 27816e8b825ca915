"""Domain-incremental, multi-head task-incremental and blurry online scenarios, forward
transfer, and the continual scalars sent to mmengine's visualisation backends."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.runner import Runner
from zoo.datasets.image import Digits

from zoo.continual.domain import DomainIncrementalScenario
from zoo.continual.head import own_head_logits
from zoo.continual.metrics import continual_metrics, forward_transfer
from zoo.continual.scenario import TaskIncrementalScenario, build_scenario, dataset_labels
from zoo.continual.stream import blurry_split
from zoo.runner_utils import load_config

from .conftest import tiny_classifier

REPO = Path(__file__).resolve().parents[2]
CFG = REPO / "configs/continual"
FULL_NET = {"model.backbone.channels": (32, 64, 128), "model.cls_head.in_channels": 128}


def tiny(config, work_dir, **extra):
    options = {"model.backbone.channels": (4, 8), "model.cls_head.in_channels": 8,
               "train_cfg.epochs_per_task": 1, "train_dataloader.batch_size": 48,
               "default_hooks.logger.interval": 1000, "experiment_name": Path(work_dir).name,
               **extra}
    return load_config(str(config), options, str(work_dir))


def results_of(cfg):
    Runner.from_cfg(cfg).train()
    return json.loads((Path(cfg.work_dir) / "continual_results.json").read_text())


# data splits, on the real digits ------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    data = Digits(split="train")
    return data, dataset_labels(data)


def test_rotated_digits_tasks_are_the_images_rotated_by_their_angle(digits):
    data, labels = digits
    scenario = DomainIncrementalScenario(classes=range(10), rotations=[0, 45, 90, 180])
    assert scenario.num_tasks == 4 and scenario.num_classes == 10
    tasks = [scenario.task_dataset(data, t, labels) for t in range(4)]
    for i in range(0, len(data), 37):
        original = data.get_data_info(i)["img"]
        got = [task.get_data_info(i) for task in tasks]
        np.testing.assert_array_equal(got[0]["img"], original)
        np.testing.assert_allclose(got[2]["img"], np.rot90(original, 1), atol=1e-6)  # CCW
        np.testing.assert_allclose(got[3]["img"], original[::-1, ::-1], atol=1e-6)
        assert not np.allclose(got[1]["img"], original)
        assert [g["label"] for g in got] == [labels[i]] * 4
        assert [g["domain_task"] for g in got] == [0, 1, 2, 3]
    # the packed input the network sees is the rotated image
    packed = tasks[2][5]["inputs"].numpy().squeeze()
    np.testing.assert_allclose(packed, np.rot90(data.get_data_info(5)["img"], 1), atol=1e-6)


def test_permuted_digits_shuffle_pixels_by_one_seeded_permutation_per_task(digits):
    data, labels = digits
    scenario = build_scenario(dict(type="domain", permutations=3, seed=7), range(10))
    perms = [np.random.default_rng(7 + t).permutation(64) for t in range(3)]
    assert len({tuple(p) for p in perms}) == 3
    for t in range(3):
        task = scenario.task_dataset(data, t, labels)
        assert len(task) == len(data)
        for i in (0, 100, 999):
            original = data.get_data_info(i)["img"]
            np.testing.assert_array_equal(task.get_data_info(i)["img"],
                                          original.reshape(-1)[perms[t]].reshape(8, 8))
        np.testing.assert_array_equal(task.labels, labels)


def test_domain_scenario_rejects_bad_arguments():
    with pytest.raises(ValueError, match="exactly one of"):
        DomainIncrementalScenario(classes=range(10), rotations=[0], permutations=2)
    with pytest.raises(ValueError, match="overlap"):
        DomainIncrementalScenario(classes=range(3), groups=[[1, 2], [2, 3]])
    with pytest.raises(ValueError, match="labels 0..K-1"):
        DomainIncrementalScenario(classes=[1, 2], rotations=[0])
    with pytest.raises(ValueError, match="scenario type"):
        build_scenario(dict(type="dom"), range(3))


def test_msr_subject_groups_hold_exactly_the_intended_files(msr_dir):
    from zoo.registry import DATASETS

    cfg = load_config(str(CFG / "domain_msr3d/finetune.py"),
                      {"train_dataloader.dataset.dataset.data_root": str(msr_dir),
                       "val_dataloader.dataset.dataset.data_root": str(msr_dir)}, "/tmp/unused")
    train = DATASETS.build(cfg.train_dataloader.dataset)
    test = DATASETS.build(cfg.val_dataloader.dataset)
    scenario = build_scenario(cfg.train_cfg.scenario, range(20))
    on_disk = {p.name.replace("_skeleton3D.txt", "") for p in msr_dir.glob("a*_s*_e*_*.txt")}
    skipped = {Path(n).name.replace("_skeleton3D.txt", "")
               for n in [*train.dataset.skipped, *test.dataset.skipped]}
    groups = [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]
    seen = set()
    for t, group in enumerate(groups):
        for data, executions in ((train, (1, 2)), (test, (3,))):
            task = scenario.task_dataset(data, t, dataset_labels(data))
            names = {task.get_data_info(i)["frame_dir"].replace("_skeleton3D", "")
                     for i in range(len(task))}
            expected = {n for n in on_disk - skipped
                        if int(n[5:7]) in group and int(n[9:11]) in executions}
            assert names == expected, (t, executions)
            assert len(names) >= 25
            assert not names & seen
            seen |= names
            labels = {task.get_data_info(i)["label"] for i in range(len(task))}
            assert labels <= set(range(20))
    assert len(seen) == len(on_disk - skipped)  # every file in exactly one task and split


# blurry streams ------------------------------------------------------------------------------
def test_blurry_split_defers_a_seeded_fraction_to_the_next_task():
    parts = blurry_split([100, 50, 80], 0.1, seed=3)
    assert [len(d) for _, d in parts] == [10, 5, 0]
    for (kept, deferred), n in zip(parts, [100, 50, 80]):
        assert sorted(np.concatenate([kept, deferred]).tolist()) == list(range(n))
    again = blurry_split([100, 50, 80], 0.1, seed=3)
    assert all((a[1] == b[1]).all() for a, b in zip(parts, again))
    assert not (blurry_split([100, 50, 80], 0.1, seed=4)[0][1] == parts[0][1]).all()
    with pytest.raises(ValueError, match="blurry"):
        blurry_split([10], 1.0, 0)


def test_online_blurry_loop_streams_hold_the_deferred_samples_of_the_previous_task(tmp_path):
    cfg = tiny(CFG / "online_digits/finetune.py", tmp_path,
               **{"train_cfg.scenario": dict(_delete_=True, type="class", num_tasks=5, seed=0),
                  "train_cfg.blurry": 0.2, "train_dataloader.batch_size": 10})
    loop = Runner.from_cfg(cfg).build_train_loop(cfg.train_cfg)
    assert loop.batch_size == 10 and loop.epochs_per_task == 1
    classes = loop.scenario.task_classes
    own = [int(np.isin(dataset_labels(loop.train_full), c).sum()) for c in classes]
    order = loop.scenario.class_order
    for t in range(5):
        stream = loop.task_dataset(t)
        original = [order[y] for y in stream.labels]  # back to digit labels
        from_prev = sum(c in classes[t - 1] for c in original) if t else 0
        from_own = sum(c in classes[t] for c in original)
        assert from_own == own[t] - (round(0.2 * own[t]) if t < 4 else 0)
        assert from_prev == (round(0.2 * own[t - 1]) if t else 0)
        assert from_own + from_prev == len(stream)
        # the info dicts agree with the labels the loader will pack
        infos = [stream.get_data_info(i)["label"] for i in range(len(stream))]
        assert infos == stream.labels.tolist()
    # evaluation data is never blurred
    assert len(loop.task_dataset(1, train=False)) == \
        int(np.isin(dataset_labels(loop.eval_full), classes[1]).sum())


# multi-head task-incremental -----------------------------------------------------------------
def test_own_head_logits_keep_the_sample_s_task_head_only():
    scenario = TaskIncrementalScenario(classes=range(4), num_tasks=2, shuffle=False)
    logits = torch.tensor([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]], requires_grad=True)
    labels = torch.tensor([3, 0])
    masked = own_head_logits(logits, labels, scenario)
    assert torch.isinf(masked[0, :2]).all() and torch.isinf(masked[1, 2:]).all()
    loss = F.cross_entropy(masked, labels, reduction="sum")
    # hand value: -log softmax([3, 4])[1] - log softmax([1, 2])[0]
    expected = -torch.log_softmax(torch.tensor([3.0, 4.0]), 0)[1] \
        - torch.log_softmax(torch.tensor([1.0, 2.0]), 0)[0]
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert (logits.grad[0, :2] == 0).all() and (logits.grad[1, 2:] == 0).all()
    assert (logits.grad[0, 2:] != 0).all()


def test_multi_head_training_leaves_other_heads_untouched(stub_loop):
    from zoo.continual.strategies import FineTune

    scenario = TaskIncrementalScenario(classes=range(10), num_tasks=5, seed=0)
    strategy = FineTune()
    strategy.setup(type("Ctx", (), {"scenario": scenario})())
    model = tiny_classifier(num_classes=10)
    data = stub_loop.subset(scenario.task_classes[2])  # stub labels follow its own order
    inputs, _ = stub_loop.collect(data, limit=16)
    labels = torch.full((16,), 4)  # incremental label 4: task 2's head is rows 4, 5
    strategy.loss(model, inputs, labels)["loss_cls"].backward()
    grad = model.cls_head.fc.weight.grad.abs().sum(1)
    assert (grad[4:6] > 0).all() and (grad[:4] == 0).all() and (grad[6:] == 0).all()


def test_multi_head_refuses_a_strategy_that_does_not_score_by_head(tmp_path):
    cfg = tiny(CFG / "task_digits/finetune.py", tmp_path,
               **{"train_cfg.strategy": dict(type="EWC", lambda_=1.0)})
    with pytest.raises(ValueError, match="multi-head"):
        Runner.from_cfg(cfg).build_train_loop(cfg.train_cfg)


# forward transfer ---------------------------------------------------------------------------
def test_forward_transfer_by_hand():
    nan = np.nan
    r = np.array([[90.0, 30.0, 20.0], [80.0, 95.0, 40.0], [70.0, 85.0, 99.0]])
    b = np.array([10.0, 12.0, 9.0])
    # (R[0,1] - b1 + R[1,2] - b2) / 2 = (18 + 31) / 2
    assert forward_transfer(r, b) == pytest.approx(24.5)
    assert forward_transfer(r, b, upto=2) == pytest.approx(18.0)
    assert forward_transfer(r, b, upto=1) is None
    assert continual_metrics(r, baseline=b)["forward_transfer"] == pytest.approx(24.5)
    assert "forward_transfer" not in continual_metrics(r)
    with pytest.raises(ValueError, match="R\\[j-1, j\\]"):
        forward_transfer(np.array([[90.0, nan], [80.0, 95.0]]), np.array([10.0, 10.0]))


@pytest.mark.parametrize("kind", ["domain", "task"])
def test_domain_and_task_runs_fill_the_whole_matrix_and_forward_transfer(tmp_path, kind):
    if kind == "domain":
        r = results_of(tiny(CFG / "domain_digits/finetune.py", tmp_path, **{
            "train_cfg.scenario.rotations": [0, 90, 180], "train_cfg.epochs_per_task": 2,
            **FULL_NET}))
        n = 3
        assert r["scenario"]["rotations"] == [0, 90, 180]
        assert r["top5_average_accuracy"] is not None  # top-5 over the 10 classes
    else:
        r = results_of(tiny(CFG / "task_digits/finetune.py", tmp_path, **{
            "train_cfg.scenario.num_tasks": 2,
            "train_cfg.scenario.class_order": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            "train_cfg.epochs_per_task": 2, **FULL_NET}))
        n = 2
        assert r["scenario"]["type"] == "task"
    m = np.array(r["accuracy_matrix"], dtype=float)
    assert m.shape == (n, n) and not np.isnan(m).any()  # above the diagonal too
    assert r["task_aware_accuracy_matrix"] == r["accuracy_matrix"]
    b = np.array(r["random_init_accuracy"])
    expected = np.mean([m[j - 1, j] - b[j] for j in range(1, n)])
    assert r["metrics"]["forward_transfer"] == pytest.approx(expected, abs=1e-3)
    assert np.diag(m).min() > 50  # it learns each task (chance: 10 / 20 %)


# scalars to the visualisation backends ------------------------------------------------------
def test_continual_scalars_reach_local_and_tensorboard_backends(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = tiny(CFG / "split_digits/finetune.py", tmp_path, **{
        "train_cfg.scenario.num_tasks": 2,
        "visualizer": dict(type="Visualizer", vis_backends=[
            dict(type="LocalVisBackend"), dict(type="TensorboardVisBackend")])})
    r = results_of(cfg)
    assert "forward_transfer" not in r["metrics"] and r["random_init_accuracy"] is None
    [scalars] = list(tmp_path.glob("*/vis_data/scalars.json"))
    rows = [json.loads(line) for line in scalars.read_text().splitlines()]
    rows = {row["step"]: row for row in rows if "continual/average_accuracy" in row}
    assert sorted(rows) == [1, 2]
    m = r["accuracy_matrix"]
    assert rows[1]["continual/accuracy/task_1"] == pytest.approx(m[0][0], abs=1e-3)
    assert rows[2]["continual/accuracy/task_1"] == pytest.approx(m[1][0], abs=1e-3)
    assert rows[2]["continual/accuracy/task_2"] == pytest.approx(m[1][1], abs=1e-3)
    for key in ("average_accuracy", "forgetting", "backward_transfer", "learning_accuracy"):
        assert rows[2][f"continual/{key}"] == pytest.approx(r["metrics"][key], abs=1e-3)
    assert rows[2]["continual/task_aware/average_accuracy"] == pytest.approx(
        r["task_aware_metrics"]["average_accuracy"], abs=1e-3)
    assert rows[2]["continual/task_train_seconds"] == pytest.approx(
        r["task_train_seconds"][1], abs=1e-2)
    [events] = list(tmp_path.glob("*/vis_data/events.out.tfevents.*"))
    acc = EventAccumulator(str(events.parent))
    acc.Reload()
    tb = acc.Scalars("continual/average_accuracy")
    assert [e.step for e in tb] == [1, 2]
    assert tb[-1].value == pytest.approx(r["metrics"]["average_accuracy"], abs=1e-3)


@pytest.mark.slow
def test_replay_remembers_the_first_rotation_better_than_fine_tuning(tmp_path):
    """Rotated digits 0 / 90 / 180 degrees: fine-tuning loses the upright digits, ER with a
    200-image memory keeps them (measured: see docs/continual.md, 5-rotation sweeps)."""
    runs = {}
    for name, strategy in (("ft", dict(type="FineTune")),
                           ("er", dict(type="ER", buffer=dict(type="reservoir", size=200)))):
        runs[name] = results_of(tiny(CFG / "domain_digits/finetune.py", tmp_path / name, **{
            "train_cfg.scenario.rotations": [0, 90, 180], "train_cfg.epochs_per_task": 3,
            "train_cfg.strategy": strategy, **FULL_NET}))
    ft, er = (np.array(runs[k]["accuracy_matrix"]) for k in ("ft", "er"))
    assert ft[0, 0] > 90 and er[0, 0] > 90
    assert er[2, 0] >= ft[2, 0] + 10
    assert runs["er"]["metrics"]["average_accuracy"] >= \
        runs["ft"]["metrics"]["average_accuracy"] + 5


def test_domain_run_resumes_with_its_random_init_accuracy(tmp_path):
    from .test_loop import ContinualCrashAfterEpoch  # noqa: F401 (registers the hook)

    extra = {"train_cfg.scenario.rotations": [0, 90, 180]}
    full = results_of(tiny(CFG / "domain_digits/finetune.py", tmp_path / "full", **extra))
    crashing = tiny(CFG / "domain_digits/finetune.py", tmp_path / "part", **extra)
    crashing.custom_hooks = [*crashing.custom_hooks,
                             dict(type="ContinualCrashAfterEpoch", epoch=1)]
    with pytest.raises(RuntimeError, match="simulated crash"):
        Runner.from_cfg(crashing).train()  # dies in task 2
    resumed_cfg = tiny(CFG / "domain_digits/finetune.py", tmp_path / "part",
                       experiment_name="resumed", **extra)
    resumed_cfg.resume = True
    resumed = results_of(resumed_cfg)
    assert resumed["random_init_accuracy"] == full["random_init_accuracy"]
    assert resumed["accuracy_matrix"] == full["accuracy_matrix"]
    assert resumed["metrics"]["forward_transfer"] == full["metrics"]["forward_transfer"]


def test_permuted_scenario_goes_into_a_task_checkpoint():
    """The scenario's own seed must not collide with the checkpoint's run seed."""
    from zoo.continual.checkpoint import task_payload
    from zoo.continual.results import AccuracyRecord
    from zoo.continual.strategies import FineTune

    scenario = build_scenario(dict(type="domain", permutations=3, seed=5), range(10))
    payload = task_payload(tiny_classifier(10), FineTune(), scenario, AccuracyRecord(3),
                           epoch=1, iteration=2, seed=0)
    assert payload["meta"]["seed"] == 0 and payload["meta"]["permutation_seed"] == 5
