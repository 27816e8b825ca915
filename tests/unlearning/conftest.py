"""Fixtures: a SmallCNN trained briefly on the real sklearn digits, and its unlearning context."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from zoo.apis import init_model
from zoo.runner_utils import load_config
from zoo.unlearning.api import save_checkpoint
from zoo.unlearning.context import build_context

CONFIG = "configs/image/smallcnn_digits.py"


@pytest.fixture(scope="session")
def digits_cfg(tmp_path_factory):
    torch.set_num_threads(1)
    return load_config(CONFIG, work_dir=str(tmp_path_factory.mktemp("work")))


@pytest.fixture(scope="session")
def trained(digits_cfg, tmp_path_factory):
    """(model, context, checkpoint path): 3 epochs of Adam on the digits training split."""
    torch.manual_seed(0)
    model = init_model(digits_cfg)
    ctx = build_context(digits_cfg, model)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(3):
        for x, y in ctx.loader("train", model):
            opt.zero_grad()
            F.cross_entropy(model.logits(x), y).backward()
            opt.step()
    model.eval()
    path = tmp_path_factory.mktemp("ckpt") / "digits.pth"
    save_checkpoint(model, path, {})
    return model, ctx, path


@pytest.fixture
def model_ctx(trained):
    """A fresh copy of the trained model and the (reset) context."""
    model, ctx, _ = trained
    ctx.reset()
    return copy.deepcopy(model), ctx
