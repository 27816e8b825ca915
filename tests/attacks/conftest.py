"""A small ST-GCN trained on the synthetic actions, shared by the attack tests."""
from __future__ import annotations

import pytest
import torch
from mmengine.registry import init_default_scope

LAYOUT = "ntu25"


def _pipeline(clip_len: int) -> list[dict]:
    return [
        dict(type="PreNormalize3D", layout=LAYOUT),
        dict(type="UniformSampleFrames", clip_len=clip_len, num_clips=1, test_mode=True),
        dict(type="PoseDecode"),
        dict(type="FormatGCNInput", num_person=1),
        dict(type="PackSkeletonInputs"),
    ]


def synthetic_batch(split: str, num_per_class: int, num_classes: int, clip_len: int = 16,
                    seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``[N, 1, 1, T, 25, 3]`` joints and labels of the synthetic actions."""
    init_default_scope("zoo")
    from zoo.datasets.skeleton import SyntheticSkeletonActions

    ds = SyntheticSkeletonActions(split=split, num_per_class=num_per_class,
                                  num_classes=num_classes, seed=seed, frames=(30, 40),
                                  pipeline=_pipeline(clip_len))
    items = [ds[i] for i in range(len(ds))]
    x = torch.stack([it["inputs"] for it in items]).float()
    y = torch.cat([it["data_samples"].gt_label for it in items])
    return x, y


@pytest.fixture(scope="session")
def synthetic_data():
    torch.set_num_threads(1)
    return synthetic_batch("train", 12, 4), synthetic_batch("test", 6, 4)


@pytest.fixture(scope="session")
def small_model(synthetic_data):
    """A narrow ST-GCN (4 classes) trained for a few dozen Adam steps; test accuracy is checked
    by the tests that use it."""
    init_default_scope("zoo")
    from zoo.registry import MODELS

    torch.manual_seed(0)
    model = MODELS.build(dict(
        type="SkeletonRecognizer",
        backbone=dict(type="STGCN", graph_cfg=dict(layout=LAYOUT, mode="stgcn_spatial"),
                      base_channels=8, num_stages=3, inflate_stages=(3,), down_stages=(3,)),
        cls_head=dict(type="GCNHead", in_channels=16, num_classes=4),
    ))
    (x, y), _ = synthetic_data
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for step in range(60):
        idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(step))[:16]
        loss = model.loss(model.logits(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()
