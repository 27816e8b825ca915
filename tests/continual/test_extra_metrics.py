"""Learning accuracy, and the per-task time and peak memory in continual_results.json."""
import json
from pathlib import Path

import numpy as np
import pytest
from mmengine.runner import Runner

from zoo.continual.metrics import continual_metrics, learning_accuracy
from zoo.runner_utils import load_config

REPO = Path(__file__).resolve().parents[2]


def test_learning_accuracy_is_the_mean_of_the_diagonal():
    hand = np.array([[90.0, np.nan, np.nan], [60.0, 80.0, np.nan], [50.0, 70.0, 95.0]])
    assert learning_accuracy(hand) == pytest.approx((90 + 80 + 95) / 3)
    assert continual_metrics(hand, upto=2)["learning_accuracy"] == pytest.approx(85.0)


def test_results_record_learning_accuracy_time_and_peak_memory(tmp_path):
    cfg = load_config(str(REPO / "configs/continual/split_digits/finetune.py"), {
        "model.backbone.channels": (4, 8), "model.cls_head.in_channels": 8,
        "train_cfg.epochs_per_task": 1, "train_cfg.scenario.num_tasks": 2,
        "train_cfg.save_checkpoints": False, "train_dataloader.batch_size": 64,
        "default_hooks.logger.interval": 1000}, str(tmp_path))
    Runner.from_cfg(cfg).train()
    r = json.loads((tmp_path / "continual_results.json").read_text())
    m = np.array(r["accuracy_matrix"], dtype=float)
    # the matrix in the file is rounded to 4 decimals
    assert r["metrics"]["learning_accuracy"] == pytest.approx(np.diag(m).mean(), abs=1e-3)
    assert len(r["task_train_seconds"]) == len(r["task_peak_rss_mb"]) == 2
    rss = r["task_peak_rss_mb"]
    assert 50 < rss[0] <= rss[1] < 64_000  # MiB of a Python + torch process, never falling
    assert r["task_peak_cuda_mb"] == [None, None]  # CPU run
    top5 = np.array(r["top5_accuracy_matrix"], dtype=float)
    assert top5[0, 0] == 100.0  # 5 classes seen after task 1: trivially in the top 5
    assert (top5[1] >= m[1] - 1e-3).all()  # top-5 is never below top-1
    assert r["top5_average_accuracy"] == pytest.approx(top5[1].mean(), abs=1e-3)


def test_top5_accuracy_on_a_hand_case():
    import torch

    from zoo.continual import ClassIncrementalScenario
    from zoo.continual.evaluation import topk_task_accuracies

    scenario = ClassIncrementalScenario(classes=range(6), num_tasks=2, shuffle=False)
    scores = torch.tensor([[6.0, 5, 4, 3, 2, 1],   # label 5 is 6th: miss
                           [1.0, 2, 3, 4, 5, 6],   # label 0 is 6th: miss
                           [6.0, 5, 4, 3, 2, 1],   # label 1 2nd: hit
                           [0.0, 9, 1, 2, 3, 4]])  # label 4: 2nd: hit
    labels = torch.tensor([5, 0, 1, 4])
    # task 0 (labels 0-2): samples 1 (miss) and 2 (hit); task 1 (3-5): samples 0 and 3
    acc = topk_task_accuracies(scores, labels, scenario, 1, k=5)
    np.testing.assert_allclose(acc, [50.0, 50.0])
    np.testing.assert_allclose(topk_task_accuracies(scores[1:3, :3], labels[1:3], scenario, 0),
                               [100.0])  # k capped at the 3 seen classes
