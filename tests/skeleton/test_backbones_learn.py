"""Every skeleton backbone learns the embedded synthetic actions (issue 22).

The first five procedurally generated actions of ``SyntheticSkeletonActions`` (wave right /
left hand, raise both arms, squat, kick; NTU-25 body; speed, size, viewpoint and noise varied
per sample), 12 training clips per class, 8 held-out clips per class. Each backbone, narrowed
(widths 8-32), is trained for 10-20 epochs of 6 steps of 10 clips with AdamW, a one-cycle
learning rate and label smoothing 0.1; held-out top-1 must reach 0.85 (chance is 0.20) and
the training loss must halve. A broken model or recipe piece (a graph that mixes nothing, a
head that ignores the features, a pipeline that destroys the signal) does not reach it.
Times on the 2-core CPU when idle: 1 s (ST-GCN) to 10 s (CTR-GCN) per test, 24 s for the
file; under load 9-12 from other jobs, 17 s to 2 min.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from zoo.registry import MODELS
from zoo.structures import ClsDataSample

init_default_scope("zoo")

CLIP_LEN = 16
NUM_CLASSES = 5
TRAIN_PER_CLASS, TEST_PER_CLASS = 12, 8
PASSES = 3
# Light augmentation only: a few epochs on 60 clips leave no room for the recipes' strong one
# (their pipelines are checked in test_recipe_configs.py).
AUGMENT = [dict(type="RandomScale", scale=0.05)]


def _pipeline(train: bool, joint_stream: bool = True) -> list[dict]:
    steps = [dict(type="PreNormalize3D", layout="ntu25")]
    if joint_stream:
        steps.append(dict(type="GenSkeFeat", layout="ntu25", feats=["j"]))
    if train:
        steps += AUGMENT
    steps += [dict(type="UniformSampleFrames", clip_len=CLIP_LEN, test_mode=not train),
              dict(type="PoseDecode"), dict(type="FormatGCNInput", num_person=1),
              dict(type="PackSkeletonInputs")]
    return steps


@functools.lru_cache(maxsize=None)
def synthetic_tensors(split: str, num_per_class: int, passes: int = 1, seed: int = 0):
    """``(x [passes, N, 1, 1, T, V, 3], y [N])``: ``passes`` augmented passes over the first
    ``NUM_CLASSES`` actions of the split (one un-augmented pass for the test split), computed
    once per session; the training epochs cycle through the passes."""
    from zoo.datasets.skeleton.synthetic import SyntheticSkeletonActions

    np.random.seed(seed)
    data = SyntheticSkeletonActions(split=split, num_per_class=num_per_class,
                                    num_classes=NUM_CLASSES)
    pipe = Compose(_pipeline(train=split == "train"))
    clips = []
    for _ in range(passes):
        items = [pipe(dict(data.get_data_info(i))) for i in range(len(data))]
        clips.append(torch.stack([it["inputs"] for it in items]))
    labels = torch.tensor([int(it["data_samples"].gt_label) for it in items])
    return torch.stack(clips), labels


def train_and_score(model_cfg: dict, epochs: int, lr: float, batch: int = 10,
                    seed: int = 0) -> tuple[list[float], float]:
    """Train ``model_cfg`` on the synthetic training clips; return the epoch losses and the
    held-out top-1. AdamW (weight decay 0.01), cosine learning-rate decay, label smoothing
    0.1 in the recogniser's loss, as in the recipes."""
    torch.manual_seed(seed)
    x, y = synthetic_tensors("train", TRAIN_PER_CLASS, PASSES)
    x_test, y_test = synthetic_tensors("test", TEST_PER_CLASS)
    model = MODELS.build(model_cfg)
    optim = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    steps = epochs * -(-len(y) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, max_lr=lr, total_steps=steps,
                                                pct_start=0.15)
    losses = []
    model.train()
    for epoch in range(epochs):
        order, total = torch.randperm(len(y)), 0.0
        for start in range(0, len(y), batch):
            idx = order[start:start + batch]
            samples = [ClsDataSample().set_gt_label(int(v)) for v in y[idx]]
            loss = model(x[epoch % PASSES, idx], samples, mode="loss")["loss_cls"]
            optim.zero_grad()
            loss.backward()
            optim.step()
            sched.step()
            total += loss.item() * len(idx)
        losses.append(total / len(y))
    model.eval()
    with torch.no_grad():
        acc = (model(x_test[0]).argmax(-1) == y_test).float().mean().item()
    return losses, acc


def gcn_head(in_channels: int) -> dict:
    return dict(type="GCNHead", in_channels=in_channels, num_classes=NUM_CLASSES)


GRAPH = dict(layout="ntu25", mode="spatial")
BACKBONES = {
    "stgcn": (dict(type="SkeletonRecognizer", label_smoothing=0.1,
                   backbone=dict(type="STGCN", graph_cfg=dict(GRAPH, mode="stgcn_spatial"),
                                 base_channels=16, num_stages=4, inflate_stages=(3,),
                                 down_stages=(3,)),
                   cls_head=gcn_head(32)), 10, 1e-2),
    "ctrgcn": (dict(type="SkeletonRecognizer", label_smoothing=0.1,
                    backbone=dict(type="CTRGCN", graph_cfg=GRAPH, base_channels=8,
                                  num_stages=4, inflate_stages=(3,), down_stages=(3,),
                                  num_person=1),
                    cls_head=gcn_head(16)), 20, 1e-2),
    "skateformer": (dict(type="SkeletonRecognizer", label_smoothing=0.1,
                         backbone=dict(type="SkateFormer", layout="ntu25", num_persons=1,
                                       embed_dim=32, channels=(32, 32), depths=(1, 1),
                                       num_heads=16, type_sizes=((4, 4), (4, 6), (4, 4), (4, 6)),
                                       mlp_ratio=2.0, attn_drop=0.0, drop_path=0.0,
                                       num_frames=CLIP_LEN),
                         cls_head=gcn_head(32)), 20, 3e-3),
    "stgcn_pyskl": (dict(type="SkeletonRecognizer", label_smoothing=0.1,
                         backbone=dict(type="PysklSTGCN", graph_cfg=dict(GRAPH,
                                                                         mode="stgcn_spatial"),
                                       base_channels=16, num_person=1, num_stages=4,
                                       inflate_stages=(3,), down_stages=(3,)),
                         cls_head=gcn_head(32)), 10, 1e-2),
    "stgcn_plusplus": (dict(type="SkeletonRecognizer", label_smoothing=0.1,
                            backbone=dict(type="PysklSTGCN", graph_cfg=GRAPH, base_channels=16,
                                          num_person=1, num_stages=4, inflate_stages=(3,),
                                          down_stages=(3,), gcn_adaptive="init",
                                          gcn_with_res=True, tcn_type="mstcn"),
                            cls_head=gcn_head(32)), 10, 1e-2),
}


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_backbone_learns_the_synthetic_actions(name):
    cfg, epochs, lr = BACKBONES[name]
    losses, acc = train_and_score(cfg, epochs, lr)
    assert losses[-1] < 0.5 * losses[0], losses
    assert acc >= 0.85, (name, acc, losses)


def test_ensem_nn_learns_the_synthetic_actions():
    """Ensem-NN (four 1-D CNN sub-networks, mean of their softmax) on the raw joints: its
    fused accuracy is high and no sub-network is left behind."""
    base = 8
    backbone = dict(type="EnsembleCNN1D", layout="ntu25", num_person=1, num_frames=CLIP_LEN,
                    base_channels=base)
    groups = MODELS.build(backbone).groups
    cfg = dict(type="EnsembleCNN1DRecognizer", backbone=backbone,
               cls_head=dict(type="EnsembleCNN1DHead", in_channels=4 * base,
                             num_classes=NUM_CLASSES, groups=groups))
    losses, acc = train_and_score(cfg, 10, 3e-3)
    assert losses[-1] < 0.5 * losses[0], losses
    assert acc >= 0.85, (acc, losses)


def test_learning_test_catches_a_model_that_cannot_learn():
    """Control: the same trainer with the backbone frozen at its random initialisation (only
    the head learns) stays far below the threshold, so the threshold measures learning in
    the backbone."""
    cfg, epochs, lr = BACKBONES["stgcn"]
    frozen = dict(cfg, backbone=dict(cfg["backbone"]))
    torch.manual_seed(0)
    model = MODELS.build(frozen)
    for p in model.backbone.parameters():
        p.requires_grad_(False)
    x, y = synthetic_tensors("train", TRAIN_PER_CLASS, PASSES)
    x_test, y_test = synthetic_tensors("test", TEST_PER_CLASS)
    optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    for epoch in range(epochs):
        for _ in range(0, len(y), 10):
            idx = torch.randperm(len(y))[:10]
            samples = [ClsDataSample().set_gt_label(int(v)) for v in y[idx]]
            loss = model(x[epoch % PASSES, idx], samples, mode="loss")["loss_cls"]
            optim.zero_grad()
            loss.backward()
            optim.step()
    model.eval()
    with torch.no_grad():
        acc = (model(x_test[0]).argmax(-1) == y_test).float().mean().item()
    assert acc < 0.85, acc
