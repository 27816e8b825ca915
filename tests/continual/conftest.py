"""Small models, data and a stand-in loop for the strategy tests."""
from __future__ import annotations

import pytest
import torch
from mmengine.registry import init_default_scope
from zoo.datasets.image import Digits

import zoo.continual  # noqa: F401  (registers the loop, wrapper and strategies)
from zoo.continual import ClassIncrementalScenario, ClassIncrementalSubset
from zoo.registry import MODELS

init_default_scope("zoo")


def tiny_classifier(num_classes: int = 4, seed: int = 0):
    torch.manual_seed(seed)
    return MODELS.build(dict(
        type="ImageClassifier",
        backbone=dict(type="SmallCNN", in_channels=1, channels=(4, 8)),
        cls_head=dict(type="LinearClsHead", in_channels=8, num_classes=num_classes)))


class StubLoop:
    """What strategies use of ContinualTrainLoop, over real Digits data."""

    def __init__(self, num_tasks=5, batch_size=16, seed=0, max_iters=100):
        self.train_full = Digits(split="train")
        self.scenario = ClassIncrementalScenario.from_dataset(self.train_full,
                                                              num_tasks=num_tasks, seed=seed)
        self.batch_size, self.seed, self.max_iters, self.iter = batch_size, seed, max_iters, 0
        # one process: the distributed helpers of the real loop are identities
        self.global_batch_size, self.generator = batch_size, None

    def gather_batch(self, *tensors):
        return tensors

    def rank_share(self, batch):
        return batch

    def subset(self, classes, train=True):
        return ClassIncrementalSubset(self.train_full, classes, self.scenario.class_order)

    def task_dataset(self, task, train=True):
        return self.subset(self.scenario.task_classes[task])

    def collect(self, dataset, limit=None):
        items = [dataset[i] for i in range(len(dataset) if limit is None else limit)]
        inputs = torch.stack([it["inputs"] for it in items]).float()
        labels = torch.cat([it["data_samples"].gt_label for it in items])
        return inputs, labels


@pytest.fixture(autouse=True)
def one_thread():
    """Run single-threaded: on the shared 2-core machine, two OpenMP threads competing with
    other jobs make the small convolutions of these tests many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def stub_loop():
    return StubLoop()
