"""Fine-tuning from ``zoo://`` on real MSR Action3D through ``tools/train.py``, end to end.

A pretrained ST-GCN (60 classes, published in the official yysijie/st-gcn key layout) is
served on 127.0.0.1; the MSR config loads it with ``load_from='zoo://...'`` and trains a
20-class model. With the learning rate at zero, the trained backbone must still be exactly
the served one: the weights went through download, hash check, safe loading and conversion.
"""
from __future__ import annotations

import runpy
import sys
from pathlib import Path

import torch

from zoo.checkpoint import safe_torch_load

from .test_api import build_from, serve_checkpoint, to_official_layout

REPO = Path(__file__).resolve().parents[2]
TINY = dict(base_channels=8, num_stages=3, inflate_stages=[3], down_stages=[3])
PRETRAINED_CONFIG = """
default_scope = "zoo"
model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="STGCN", graph_cfg=dict(layout="kinect20", mode="stgcn_spatial"),
                  base_channels=8, num_stages=3, inflate_stages=(3,), down_stages=(3,)),
    cls_head=dict(type="GCNHead", in_channels=16, num_classes=60),
)
"""


def test_finetune_from_zoo_scheme_on_msr(cache, server, add_entry, tmp_path, msr_dir,
                                         monkeypatch, capsys):
    config = tmp_path / "pretrained.py"
    config.write_text(PRETRAINED_CONFIG)
    pretrained = build_from(config, seed=3)
    url, digest = serve_checkpoint(server, "/stgcn_kinect20_60cls.pt",
                                   to_official_layout(pretrained.state_dict()))
    add_entry(name="t_stgcn_kinect20", urls=(url,), sha256=digest, config=str(config),
              converter="convert_stgcn_official", num_classes=60)

    work_dir = tmp_path / "work"
    options = [f"model.backbone.{k}={v}".replace(" ", "") for k, v in TINY.items()] + [
        "model.cls_head.in_channels=16", "load_from=zoo://t_stgcn_kinect20",
        f"train_dataloader.dataset.data_root={msr_dir}",
        f"test_dataloader.dataset.data_root={msr_dir}",
        f"val_dataloader.dataset.data_root={msr_dir}",
        "test_dataloader.dataset.pipeline.2.num_clips=1",
        "train_cfg.max_epochs=1", "optim_wrapper.optimizer.lr=0.0",
    ]
    monkeypatch.setattr(sys, "argv", [
        "train.py", str(REPO / "configs/skeleton/stgcn_msr3d_xsub.py"),
        "--work-dir", str(work_dir), "--cfg-options", *options])
    runpy.run_path(str(REPO / "tools/train.py"), run_name="__main__")
    assert "Final test:" in capsys.readouterr().out
    assert [r.path for r in server.requests] == ["/stgcn_kinect20_60cls.pt"]

    state = safe_torch_load(work_dir / "epoch_1.pth")["state_dict"]
    assert state["cls_head.fc.weight"].shape == (20, 16)  # new head for the 20 MSR actions
    for name, value in pretrained.named_parameters():
        if name.startswith("backbone."):
            torch.testing.assert_close(state[name], value.detach(), rtol=0, atol=0, msg=name)
