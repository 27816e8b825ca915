"""Scenario splitting, the class-subset wrapper, head growth and the metric formulas."""
import numpy as np
import pytest
import torch
from torch import nn
from zoo.datasets.image import Digits

from zoo.continual import (
    ClassIncrementalScenario,
    ClassIncrementalSubset,
    expand_linear,
    set_num_classes,
)
from zoo.continual.metrics import (
    average_accuracy,
    average_incremental_accuracy,
    backward_transfer,
    continual_metrics,
    forgetting,
)
from zoo.registry import DATASETS

from .conftest import tiny_classifier


def test_seeded_order_is_reproducible_and_depends_on_the_seed():
    a = ClassIncrementalScenario(range(10), num_tasks=5, seed=3)
    b = ClassIncrementalScenario(range(10), num_tasks=5, seed=3)
    c = ClassIncrementalScenario(range(10), num_tasks=5, seed=4)
    assert a.class_order == b.class_order != c.class_order
    assert sorted(a.class_order) == list(range(10))
    assert a.class_order == [int(x) for x in np.random.default_rng(3).permutation(10)]
    assert a.task_classes == [a.class_order[2 * t:2 * t + 2] for t in range(5)]
    assert ClassIncrementalScenario(range(6), num_tasks=3, shuffle=False).task_classes == \
        [[0, 1], [2, 3], [4, 5]]


def test_given_order_and_sizes():
    s = ClassIncrementalScenario(range(10), class_order=[9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
                                 task_sizes=[4, 3, 3])
    assert s.task_classes == [[9, 8, 7, 6], [5, 4, 3], [2, 1, 0]]
    assert s.label_map[9] == 0 and s.label_map[0] == 9
    assert s.incremental_range(1) == (4, 7)
    assert s.num_seen_classes(1) == 7
    assert s.classes_up_to(1) == [9, 8, 7, 6, 5, 4, 3]
    assert list(s.task_of_incremental_label()) == [0] * 4 + [1] * 3 + [2] * 3
    subset = ClassIncrementalScenario(range(10), class_order=[3, 1], num_tasks=2)
    assert subset.task_classes == [[3], [1]]


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_tasks=3), "do not split into 3 equal tasks"),
    (dict(task_sizes=[5, 4]), "sum to 9"),
    (dict(class_order=[0, 0, 1], num_tasks=1), "repeats"),
    (dict(class_order=[0, 11], num_tasks=1), r"classes \[11\]"),
    (dict(), "give num_tasks"),
])
def test_bad_scenarios_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClassIncrementalScenario(range(10), **kwargs)


def test_subset_wrapper_relabels_through_the_pipeline():
    digits = Digits(split="test")
    scenario = ClassIncrementalScenario.from_dataset(digits, num_tasks=5, seed=0)
    classes = scenario.task_classes[1]
    subset = DATASETS.build(dict(type="ClassIncrementalSubset", dataset=dict(
        type="Digits", split="test"), classes=classes, class_order=scenario.class_order))
    assert len(subset) == sum(int(digits.get_data_info(i)["label"] in classes)
                              for i in range(len(digits)))
    labels = {int(subset[i]["data_samples"].gt_label) for i in range(len(subset))}
    assert labels == {2, 3}  # the incremental labels of task 1
    info = subset.get_data_info(0)
    assert info["label"] == scenario.label_map[info["original_label"]]
    assert subset.metainfo["classes"][:2] == tuple(str(c) for c in scenario.class_order[:2])
    kept = ClassIncrementalSubset(digits, classes=[3, 5])  # no class order: labels unchanged
    assert {int(kept[i]["data_samples"].gt_label) for i in range(len(kept))} == {3, 5}


def test_subset_wrapper_errors():
    digits = Digits(split="test")
    with pytest.raises(ValueError, match=r"classes \[7\] are not in class_order"):
        ClassIncrementalSubset(digits, classes=[7], class_order=[1, 2])
    with pytest.raises(ValueError, match=r"no sample of classes \[42\]"):
        ClassIncrementalSubset(digits, classes=[42])
    with pytest.raises(TypeError, match="get_data_info"):
        ClassIncrementalSubset([1, 2, 3], classes=[1])


def test_head_growth_keeps_old_rows():
    fc = nn.Linear(8, 2)
    new = expand_linear(fc, 5, torch.Generator().manual_seed(0))
    torch.testing.assert_close(new.weight[:2], fc.weight)
    torch.testing.assert_close(new.bias[:2], fc.bias)
    assert new.weight.shape == (5, 8) and not torch.equal(new.weight[2:], torch.zeros(3, 8))
    model = tiny_classifier(num_classes=2)
    old = model.cls_head.fc.weight.detach().clone()
    assert set_num_classes(model, 4) and not set_num_classes(model, 4)
    assert model.num_classes == 4 and model.cls_head.num_classes == 4
    torch.testing.assert_close(model.cls_head.fc.weight[:2], old)
    assert model.logits(torch.zeros(3, 1, 8, 8)).shape == (3, 4)


# R[i, j]: accuracy on task j after task i (NaN above the diagonal)
HAND = np.array([[90.0, np.nan, np.nan],
                 [60.0, 80.0, np.nan],
                 [50.0, 70.0, 95.0]])


def test_metrics_on_a_hand_matrix():
    assert average_accuracy(HAND) == pytest.approx((50 + 70 + 95) / 3)
    # mean over steps of the mean over seen tasks: (90 + 70 + 71.667) / 3
    assert average_incremental_accuracy(HAND) == pytest.approx((90 + 70 + 215 / 3) / 3)
    # task 0: best 90 -> 50 (40); task 1: best 80 -> 70 (10)
    assert forgetting(HAND) == pytest.approx(25.0)
    # (50 - 90) + (70 - 80) over 2
    assert backward_transfer(HAND) == pytest.approx(-25.0)
    rising = np.array([[50.0, np.nan], [70.0, 90.0]])
    assert forgetting(rising) == pytest.approx(-20.0)  # gains count as negative forgetting
    assert backward_transfer(rising) == pytest.approx(20.0)
    partial = continual_metrics(HAND, upto=2)
    assert partial["average_accuracy"] == pytest.approx(70.0)
    assert partial["forgetting"] == pytest.approx(30.0)


def test_forgetting_uses_the_best_earlier_accuracy():
    m = np.array([[40.0, np.nan, np.nan], [80.0, 60.0, np.nan], [30.0, 50.0, 90.0]])
    assert forgetting(m) == pytest.approx(((80 - 30) + (60 - 50)) / 2)


def test_metrics_reject_missing_entries():
    bad = HAND.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN on or below the diagonal"):
        average_accuracy(bad)


def test_report_table_and_order_check(tmp_path):
    import json

    from zoo.continual import report

    def fake(name, strategy, acc):
        d = tmp_path / name
        d.mkdir()
        metrics = dict(average_accuracy=acc, average_incremental_accuracy=acc,
                       forgetting=100 - acc, backward_transfer=acc - 100)
        (d / "continual_results.json").write_text(json.dumps(dict(
            strategy=strategy, metrics=metrics, task_aware_metrics=metrics,
            task_train_seconds=[1.0, 2.0], epochs_per_task=1, accuracy_matrix=[[acc]])))
        return str(d)

    runs = {"joint": fake("joint", "Joint", 95.0), "er": fake("er", "ER", 80.0),
            "ewc": fake("ewc", "EWC", 30.0), "ft": fake("ft", "FineTune", 20.0)}
    payload = report.write(report.collect(runs), tmp_path / "table", "t")
    assert payload["order_check"]["expected_order_holds"]
    assert "| joint | upper bound | 95.0 |" in (tmp_path / "table.md").read_text()
    runs["lwf"] = fake("lwf", "LwF", 85.0)  # a regulariser above a replay method
    check = report.order_check(report.collect(runs))
    assert not check["expected_order_holds"]
    assert check["inversions"] == ["er (replay, 80.0) <= lwf (regularisation, 85.0)"]
