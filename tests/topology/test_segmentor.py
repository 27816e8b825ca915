"""Segmentor on MONAI's UNet: shapes of every mode, configs build, and it learns tiny walls."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from mmengine.dataset import pseudo_collate

from zoo.registry import DATASETS, MODELS

REPO = Path(__file__).resolve().parents[2]


def _segmentor(loss: dict, channels=(8, 16, 32), network="MonaiUNet"):
    if network == "MonaiUNet":
        net = dict(type="MonaiUNet", spatial_dims=2, in_channels=3, out_channels=2,
                   channels=channels, strides=(2,) * (len(channels) - 1), num_res_units=1)
    else:
        net = dict(type="MonaiBasicUNet", spatial_dims=2, in_channels=3, out_channels=2,
                   features=(4, 4, 8, 8, 16, 4))
    return MODELS.build(dict(type="Segmentor", network=net, loss=loss, num_classes=2))


def _batch(n=2, size=48, split="train", skel=True):
    pipeline = ([dict(type="TubedSkeleton")] if skel else []) + [dict(type="PackSegInputs")]
    ds = DATASETS.build(dict(type="BrickWalls", split=split, num_samples=n, size=size,
                             pipeline=pipeline))
    return pseudo_collate([ds[i] for i in range(n)])


@pytest.mark.parametrize("network", ["MonaiUNet", "MonaiBasicUNet"])
def test_modes_and_odd_sizes(network):
    torch.manual_seed(0)
    model = _segmentor(dict(type="DiceCESkeletonRecallLoss"), network=network)
    data = model.data_preprocessor(_batch(size=44), training=True)
    losses = model(**data, mode="loss")
    assert losses["loss_seg"].ndim == 0 and torch.isfinite(losses["loss_seg"])
    losses["loss_seg"].backward()
    logits = model(data["inputs"], mode="tensor")
    assert tuple(logits.shape) == (2, 2, 44, 44)
    preds = model(**data, mode="predict")
    assert preds[0].pred_sem_seg.shape == (44, 44) and preds[0].seg_probs.shape == (2, 44, 44)
    with pytest.raises(ValueError, match="invalid mode"):
        model(data["inputs"], mode="nope")


def test_skeleton_loss_requires_tube():
    model = _segmentor(dict(type="DiceCESkeletonRecallLoss"))
    data = model.data_preprocessor(_batch(skel=False), training=True)
    with pytest.raises(KeyError, match="gt_skel"):
        model(**data, mode="loss")


@pytest.mark.parametrize("name", ["unet_dicece_walls", "unet_cldice_walls",
                                  "unet_skelrecall_walls"])
def test_configs_build(name):
    from zoo.runner_utils import load_config

    cfg = load_config(str(REPO / "configs" / "topology" / f"{name}.py"))
    model = MODELS.build(cfg.model)
    assert isinstance(model.loss_fn, torch.nn.Module)
    assert cfg.train_dataloader.dataset.type == "BrickWalls"


def test_segmentor_learns_tiny_walls():
    """A few Adam steps on 8 walls: held-out Dice well above the all-mortar guess."""
    from zoo.evaluation.topology import dice_score

    torch.manual_seed(0)
    model = _segmentor(dict(type="DiceCELoss"))
    train = model.data_preprocessor(_batch(8, 64, "train", skel=False), training=True)
    test = model.data_preprocessor(_batch(4, 64, "test", skel=False))

    def held_out_dice():
        model.eval()
        with torch.no_grad():
            preds = model(**test, mode="predict")
        model.train()
        return sum(dice_score(p.pred_sem_seg.numpy(), p.gt_sem_seg.numpy())
                   for p in preds) / len(preds)

    fraction = float(torch.stack([s.gt_sem_seg for s in test["data_samples"]]).float().mean())
    chance = 2 * fraction / (1 + fraction)  # Dice of predicting mortar everywhere
    before = held_out_dice()
    optim = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(80):
        idx = torch.randperm(8)[:4].tolist()
        batch = dict(inputs=train["inputs"][idx],
                     data_samples=[train["data_samples"][i] for i in idx])
        loss = model(**batch, mode="loss")["loss_seg"]
        optim.zero_grad()
        loss.backward()
        optim.step()
    after = held_out_dice()
    assert after > max(chance + 0.2, before + 0.2), (before, after, chance)
