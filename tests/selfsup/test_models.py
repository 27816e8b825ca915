"""Self-supervised models: momentum update, queue, joint masks, MAE masking and target,
and linear evaluation freezing."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from zoo.losses.contrastive import hiclr_loss
from zoo.models.selfsup.hiclr import momentum_update, random_joint_mask
from zoo.models.selfsup.mae import random_mask

from zoo.registry import MODELS

init_default_scope("zoo")

BACKBONE = dict(type="STGCN", graph_cfg=dict(layout="ntu25", mode="stgcn_spatial"),
                base_channels=4, num_stages=3, inflate_stages=(2,), down_stages=(2,))


def hiclr(**kw):
    cfg = dict(type="HiCLR", backbone=BACKBONE, feature_dim=6, queue_size=10, momentum=0.9)
    cfg.update(kw)
    return MODELS.build(cfg)


def test_momentum_update_follows_the_formula():
    online, target = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    q = [p.detach().clone() for p in online.parameters()]
    k = [p.detach().clone() for p in target.parameters()]
    momentum_update(online, target, 0.75)
    for p, pq, pk in zip(target.parameters(), q, k):
        torch.testing.assert_close(p, 0.75 * pk + 0.25 * pq)
    model = hiclr()
    # the key encoder starts as a copy and receives no gradient
    for pq, pk in zip(model.backbone.parameters(), model.backbone_k.parameters()):
        torch.testing.assert_close(pq, pk)
        assert not pk.requires_grad
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(1.0)
    before = [p.clone() for p in model.backbone_k.parameters()]
    model.momentum_update()
    for pk, b, pq in zip(model.backbone_k.parameters(), before, model.backbone.parameters()):
        torch.testing.assert_close(pk, 0.9 * b + 0.1 * pq)


def test_queue_is_a_ring_buffer_of_the_newest_keys():
    model = hiclr()
    first = torch.arange(6 * 6, dtype=torch.float32).view(6, 6)
    model.enqueue(first)
    torch.testing.assert_close(model.queue[:6], first)
    assert int(model.queue_ptr) == 6
    second = -torch.ones(6, 6)
    old_tail = model.queue[6:10].clone()
    model.enqueue(second)  # slots 6..9 then wraps onto 0..1
    torch.testing.assert_close(model.queue[6:10], second[:4])
    torch.testing.assert_close(model.queue[:2], second[4:])
    torch.testing.assert_close(model.queue[2:6], first[2:6])  # not yet overwritten
    assert int(model.queue_ptr) == 2 and not torch.equal(old_tail, model.queue[6:10])


def test_joint_mask_counts_and_the_learnable_fill():
    mask = random_joint_mask((3, 5, 25), 0.1)
    assert mask.shape == (3, 5, 25) and (mask.sum(-1) == 2).all()  # int(25 * 0.1) per frame
    model = hiclr(mask_ratio=0.2)
    with torch.no_grad():
        model.mask_param.fill_(7.0)
    x = torch.randn(2, 1, 4, 25, 3)
    out = model.mask_joints(x)
    filled = (out == 7.0).all(-1)[:, 0]  # [N, T, V]
    assert (filled.sum(-1) == 5).all()
    torch.testing.assert_close(out[~(out == 7.0)], x[~(out == 7.0)])


def test_hiclr_loss_step_uses_the_registered_loss_then_updates_the_queue():
    torch.manual_seed(0)
    model = hiclr(mask_ratio=0.0).eval()  # eval: deterministic batch norm for the check
    views = torch.randn(4, 4, 1, 1, 8, 25, 3)
    queue = model.queue.clone()
    with torch.no_grad():
        losses = model(views, mode="loss")
        q = [model.project(views[:, i, 0]) for i in (0, 2, 3)]
        k = F.normalize(model.project_key(views[:, 1, 0]), dim=1)
    expected = hiclr_loss([F.normalize(x, dim=1) for x in q], k, queue, 0.07)
    torch.testing.assert_close(losses["loss_infonce"], expected["loss_infonce"])
    torch.testing.assert_close(losses["loss_consistency"], expected["loss_consistency"])
    torch.testing.assert_close(model.queue[:4], k)  # the keys entered the queue
    with pytest.raises(ValueError, match="views"):
        model(torch.randn(4, 1, 8, 25, 3), mode="loss")
    assert model(views, mode="tensor").shape == (4, 8)


def test_mae_mask_ratio_and_units():
    joint = random_mask(4, 6, 25, 0.4, "joint")
    assert (joint.sum(-1) == 10).all()  # round(0.4 * 25) joints in every frame
    assert (joint == joint[:, :1]).all()  # the same joints in every frame
    token = random_mask(4, 6, 25, 0.5, "token")
    assert (token.flatten(1).sum(1) == 75).all()
    with pytest.raises(ValueError, match="unit"):
        random_mask(1, 1, 1, 0.5, "frame")


def test_mae_reconstructs_the_unmasked_input_at_masked_joints_only():
    torch.manual_seed(0)
    model = MODELS.build(dict(type="SkeletonMAE", backbone=BACKBONE, layout="ntu25",
                              temporal_stride=2, mask_ratio=0.4)).eval()
    with torch.no_grad():
        model.mask_token.fill_(9.0)
    x = torch.randn(2, 1, 1, 8, 25, 3)
    masked, mask = model.mask_input(x[:, 0])
    assert (masked == 9.0).all(-1)[:, 0].eq(mask).all()
    torch.testing.assert_close(masked[~mask[:, None].expand(-1, 1, -1, -1)],
                               x[:, 0][~mask[:, None].expand(-1, 1, -1, -1)])
    # the loss is the MSE of the prediction against the ORIGINAL input on masked joints
    torch.manual_seed(1)
    with torch.no_grad():
        loss = model(x, mode="loss")["loss_rec"]
    torch.manual_seed(1)
    with torch.no_grad():
        masked, mask = model.mask_input(x[:, 0])
        pred = model.reconstruct(masked, mask)
    assert pred.shape == x[:, 0].shape
    sel = mask[:, None].expand(-1, 1, -1, -1)
    expected = ((pred - x[:, 0]) ** 2)[sel].mean()
    torch.testing.assert_close(loss, expected)
    # a temporal_stride that does not undo the backbone's downsampling is a clear error
    wrong = MODELS.build(dict(type="SkeletonMAE", backbone=BACKBONE, layout="ntu25",
                              temporal_stride=1, mask_ratio=0.4))
    with pytest.raises(ValueError, match="temporal_stride"):
        wrong(x, mode="loss")


def test_linear_eval_freezes_the_encoder_and_its_batch_norm():
    model = MODELS.build(dict(type="LinearEvalRecognizer", backbone=BACKBONE,
                              cls_head=dict(type="GCNHead", in_channels=8, num_classes=3)))
    model.train()
    assert not model.backbone.training and model.cls_head.training
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"cls_head.fc.weight", "cls_head.fc.bias"}
    stats = model.backbone.data_bn.running_mean.clone()
    from zoo.structures import ClsDataSample

    samples = [ClsDataSample().set_gt_label(i % 3) for i in range(4)]
    loss = model(torch.randn(4, 1, 1, 8, 25, 3) * 5 + 2, samples, mode="loss")["loss_cls"]
    loss.backward()
    torch.testing.assert_close(model.backbone.data_bn.running_mean, stats)
    assert model.cls_head.fc.weight.grad.abs().sum() > 0
