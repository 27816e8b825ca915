"""A small ST-GCN trained briefly on real MSR Action3D and the real test clips, shared by the
bf16 / fused / ONNX agreement tests."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import set_random_seed

REPO = Path(__file__).resolve().parents[2]
MSR_CONFIG = REPO / "configs/skeleton/stgcn_msr3d_xsub.py"
EPOCHS = 12


def _batches(dataset, batch_size):
    for start in range(0, len(dataset), batch_size):
        items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        yield (torch.stack([torch.as_tensor(it["inputs"]) for it in items]).float(),
               torch.cat([it["data_samples"].gt_label for it in items]))


@pytest.fixture(scope="session")
def msr_trained(msr_dir):
    """``(model, test_inputs, test_labels)``: ST-GCN (base 16 channels) after ``EPOCHS``
    epochs on the MSR cross-subject train split, and every test sample as 2 clips of 32
    frames."""
    from zoo.registry import DATASETS, MODELS

    init_default_scope("zoo")
    cfg = Config.fromfile(str(MSR_CONFIG))
    set_random_seed(0)  # torch, numpy (the augmentations) and random
    cfg.model.backbone.base_channels = 16
    cfg.model.cls_head.in_channels = 64
    model = MODELS.build(cfg.model)
    train_set = copy.deepcopy(cfg.train_dataloader.dataset)
    test_set = copy.deepcopy(cfg.test_dataloader.dataset)
    for ds in (train_set, test_set):
        ds.data_root = str(msr_dir)
    for step in test_set.pipeline:
        if step["type"] == "UniformSampleFrames":
            step["num_clips"] = 2
    train_set, test_set = DATASETS.build(train_set), DATASETS.build(test_set)
    train = list(_batches(train_set, 16))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True,
                                weight_decay=5e-4)
    steps = EPOCHS * ((len(train_set) + 15) // 16)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 0.1, total_steps=steps)
    model.train()
    inputs_all, labels_all = (torch.cat(t) for t in zip(*train))
    for _ in range(EPOCHS):
        order = torch.randperm(len(labels_all))
        for idx in order.split(16):
            inputs, labels = inputs_all[idx], labels_all[idx]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model.logits(inputs), labels)
            loss.backward()
            optimizer.step()
            schedule.step()
    model.eval()
    inputs, labels = zip(*_batches(test_set, 64))
    return model, torch.cat(inputs), torch.cat(labels)
