"""HealthiVert-GAN: sample preparation, networks, GAN train_step, grading, config."""
from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict
from torch.utils.data import default_collate
from zoo.datasets.medical.healthivert_dataset import (
    HealthiVertPhantomDataset,
    make_inpainting_input,
)
from zoo.datasets.medical.spine_io import SpineDataError
from zoo.models.medical.healthivert_gan import HealthiVertGAN, composite
from zoo.models.medical.healthivert_nets import ContextualAttention, HealthiVertGenerator

from zoo.medical.grading import grade_cross_validation

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def healthy_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("healthy")
    return HealthiVertPhantomDataset(str(root), num_cases=1, fractured=False, targets="all",
                                     crop_size=64, band=24, seed=7)


def test_inpainting_input_hand_case():
    img = np.arange(16, dtype=np.float32)[:, None].repeat(4, 1)  # row value = row index
    lab = np.zeros((16, 4), np.int32)
    lab[2:5] = 1
    lab[6:10] = 2  # target, rows 6..9
    lab[11:14] = 3
    s = make_inpainting_input(img, lab, target=2, healthy_labels=[1, 3], band=6)
    assert (s["x1"], s["x2"], s["height"]) == (6, 9, 4)
    masked, band = s["masked"][0], s["mask"][0]
    rows = np.flatnonzero(band[:, 0])
    assert rows.tolist() == [5, 6, 7, 8, 9, 10]  # 6-row band centred on rows 6..9
    assert (masked[rows] == -1).all()
    assert masked[4, 0] == 5 and masked[0, 0] == 1  # rows just above x1, shifted up by one
    assert masked[11, 0] == 10 and masked[15, 0] == 14  # rows just below x2
    neighbours = s["neighbours"][0][:, 0]
    assert neighbours[rows].sum() == 0 and neighbours[1:4].all() and neighbours[12:15].all()
    np.testing.assert_array_equal(s["real"][0], img)
    with pytest.raises(SpineDataError, match="vertebra 7 is absent"):
        make_inpainting_input(img, lab, 7, [1], 6)
    with pytest.raises(SpineDataError, match="more than the 3-px band"):
        make_inpainting_input(img, lab, 2, [1], 3)


def test_composite_places_generated_rows():
    real = torch.arange(16.0).view(1, 1, 16, 1).expand(1, 1, 16, 2).clone()
    gen = torch.full_like(real, 100.0)
    out, spans = composite(gen, real, torch.tensor([6]), torch.tensor([9]), [6])
    col = out[0, 0, :, 0]
    assert spans == [(5, 11)]  # 2 rows taller than the visible 4: one more on each side
    assert (col[5:11] == 100).all()
    assert col[:5].tolist() == [1, 2, 3, 4, 5]  # real rows above x1 shifted up by one
    assert col[11:].tolist() == [10, 11, 12, 13, 14]


def test_contextual_attention_copies_matching_background():
    torch.manual_seed(0)
    ca = ContextualAttention(ksize=3, rate=2, softmax_scale=1000.0, fuse=False)
    f = torch.randn(2, 8, 16, 16)
    hole = torch.zeros(2, 1, 64, 64)
    hole[..., 28:36, :] = 1  # rows 7..8 of the 16x16 feature map
    out = ca(f, f, hole)
    assert out.shape == f.shape
    # feature rows 3..5 of the 8x8 matching grid touch the hole (grid row 4 = image row 32),
    # so they attend elsewhere; their pasted 4x4 patches cover feature rows 5..12. Everywhere
    # else each position attends to its own patch, so the output is the input.
    keep = [r for r in range(2, 14) if r < 5 or r > 12]
    torch.testing.assert_close(out[..., keep, 2:14], f[..., keep, 2:14], atol=1e-3, rtol=1e-3)


def test_generator_shapes_and_ranges():
    gen = HealthiVertGenerator(ngf=4, dilations=(2, 4))
    x = torch.rand(2, 1, 64, 64) * 2 - 1
    mask = torch.zeros(2, 1, 64, 64)
    mask[..., 20:44, :] = 1
    out = gen(x, mask, torch.ones_like(x), torch.tensor([0.0, 0.5]))
    for k in ("coarse", "fine"):
        assert out[f"{k}_image"].shape == out[f"{k}_seg"].shape == (2, 1, 64, 64)
        assert out[f"{k}_image"].abs().max() <= 1 and 0 <= out[f"{k}_seg"].min()
        assert out[f"{k}_height"].shape == (2,) and ((out[f"{k}_height"] > 0) &
                                                     (out[f"{k}_height"] < 1)).all()
    with pytest.raises(ValueError, match="divisible by 8"):
        gen(x[..., :60, :60], mask[..., :60, :60], x[..., :60, :60], torch.zeros(2))


def test_train_step_updates_both_players_and_learns(healthy_dataset):
    torch.manual_seed(0)
    batch = default_collate([healthy_dataset[i] for i in range(0, len(healthy_dataset), 5)][:8])
    model = HealthiVertGAN(generator=dict(ngf=4, dilations=(2, 4)),
                           discriminator=dict(ndf=8, n_layers=3), max_height=24)
    wrappers = OptimWrapperDict(
        generator=OptimWrapper(torch.optim.Adam(model.generator.parameters(), 1e-3,
                                                betas=(0.5, 0.999))),
        discriminator=OptimWrapper(torch.optim.Adam(model.discriminator.parameters(), 1e-3,
                                                    betas=(0.5, 0.999))))
    g0 = [p.detach().clone() for p in model.generator.parameters()]
    d0 = [p.detach().clone() for p in model.discriminator.parameters()]
    with torch.no_grad():
        first = model(batch["inputs"], mode="loss")
    logs = [model.train_step(batch, wrappers) for _ in range(20)]
    assert all(np.isfinite(float(v)) for log in logs for v in log.values())
    assert any(not torch.equal(a, b) for a, b in zip(g0, model.generator.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, model.discriminator.parameters()))
    assert all(p.requires_grad for p in model.discriminator.parameters())
    with torch.no_grad():
        last = model(batch["inputs"], mode="loss")
    fit = ("loss_l1", "loss_height", "loss_dice_fine")
    assert sum(float(last[k]) for k in fit) < 0.7 * sum(float(first[k]) for k in fit)
    preds = model.predict(batch["inputs"], batch["data_samples"])
    assert len(preds) == 8 and preds[0]["syn_mask"].shape == (64, 64)


def test_edge_loss_on_the_thresholded_mask_sends_no_gradient(healthy_dataset):
    # The official code measures the EEM edge loss on the thresholded segmentation; on the
    # sigmoid output (edge_mask='soft') the term pins the segmentation to a flat map.
    batch = default_collate([healthy_dataset[i] for i in range(4)])
    grads = {}
    for mode in ("hard", "soft"):
        torch.manual_seed(0)
        model = HealthiVertGAN(generator=dict(ngf=4, dilations=(2, 4)),
                               discriminator=dict(ndf=8, n_layers=3), edge_mask=mode)
        inputs = model.data_preprocessor(batch, True)["inputs"]
        out = model.generate(inputs)
        loss = model.generator_losses(inputs, out)["loss_edge"]
        assert loss.item() > 0
        grads[mode] = torch.autograd.grad(loss, out["fine_seg"]) if loss.requires_grad \
            else None
    assert grads["hard"] is None
    assert grads["soft"][0].abs().sum() > 0
    with pytest.raises(ValueError, match="edge_mask"):
        HealthiVertGAN(edge_mask="straight")


def test_grading_cross_validation_separates_grades():
    rng = np.random.default_rng(0)
    centres = {0: 0.05, 1: 0.22, 2: 0.32, 3: 0.47}
    grades = np.repeat(np.arange(4), 12)
    feats = np.stack([np.array([centres[g]] * 3) + rng.normal(0, 0.01, 3) for g in grades])
    res = grade_cross_validation(feats, grades)
    assert res["accuracy"] > 0.9 and res["folds"] == 5
    noise = rng.normal(0, 1, feats.shape)
    assert grade_cross_validation(noise, grades)["accuracy"] < 0.6
    with pytest.raises(ValueError, match="need >= 2 vertebrae per grade"):
        grade_cross_validation(feats[:5], np.array([0, 0, 0, 0, 1]))


def test_config_is_valid():
    from mmengine.config import Config

    from zoo.config_check import check_config

    cfg = Config.fromfile("configs/medical/healthivert_phantom.py")
    check_config(cfg)
    assert set(cfg.optim_wrapper) >= {"generator", "discriminator", "constructor"}


def test_height_head_rows_option_sees_vertical_position_the_global_pool_cannot():
    from zoo.models.medical.healthivert_nets import HeightHead

    torch.manual_seed(0)
    x = torch.zeros(1, 4, 16, 8)
    x[:, :, :4] = 1.0  # features in the top rows ...
    flipped = x.flip(2)  # ... or the same features in the bottom rows
    official, rows = HeightHead(4), HeightHead(4, rows=16)
    assert torch.equal(official(x), official(flipped))  # one pooled vector for both
    assert not torch.allclose(rows(x), rows(flipped))
    assert rows.fc.in_features == 4 * 16 and rows(x).shape == (1,)
    # the generator option reaches both stages; the default is the official head
    gen = HealthiVertGenerator(ngf=8, height_rows=16)
    assert gen.coarse.height.rows == gen.fine.height.rows == 16
    assert HealthiVertGenerator(ngf=8).fine.height.rows is None
    with pytest.raises(ValueError, match="rows must be >= 1"):
        HeightHead(4, rows=0)


def test_neighbour_height_hand_case_and_dataset_field(healthy_dataset):
    from zoo.datasets.medical.healthivert_dataset import neighbour_height

    lab = np.zeros((20, 5), np.int32)
    lab[1:5, 1:4] = 1  # 4 rows
    lab[7:12] = 2  # the target
    lab[14:20, 2] = 3  # 6 rows, one column
    assert neighbour_height(lab, [1, 3]) == 5.0
    assert neighbour_height(lab, [1, 9]) == 4.0  # an absent neighbour is left out
    assert neighbour_height(lab, [8, 9]) == 0.0
    # every sample carries it; on healthy phantoms it is close to the target's own height
    sample = healthy_dataset[0]["inputs"]
    assert sample["neighbour_height"].dtype == torch.float32
    info = [healthy_dataset.get_data_info(i) for i in range(len(healthy_dataset))]
    nbr = np.array([s["neighbour_height"] for s in info])
    own = np.array([s["height"] for s in info])
    assert (nbr > 0).all() and np.abs(nbr - own).mean() < 2.0


def test_height_prior_option_starts_from_the_neighbours_and_is_off_by_default(
        healthy_dataset):
    from zoo.models.medical.healthivert_nets import HeightHead

    head = HeightHead(4)
    torch.nn.init.zeros_(head.fc.weight)
    torch.nn.init.zeros_(head.fc.bias)
    x = torch.randn(3, 4, 8, 8)
    prior = torch.tensor([0.25, 0.8, 0.0])  # the last sample has no neighbour on its slice
    out = head(x, prior)
    torch.testing.assert_close(out, torch.tensor([0.25, 0.8, 0.5]))
    torch.testing.assert_close(head(x), torch.full((3,), 0.5))  # no prior: the official head
    batch = default_collate([healthy_dataset[i] for i in range(4)])
    torch.manual_seed(0)
    off = HealthiVertGAN(generator=dict(ngf=4, dilations=(2, 4)), max_height=24)
    torch.manual_seed(0)
    on = HealthiVertGAN(generator=dict(ngf=4, dilations=(2, 4)), max_height=24,
                        neighbour_height=True)
    assert off.state_dict().keys() == on.state_dict().keys()  # checkpoints interchange
    with torch.no_grad():
        h_off = off.generate(batch["inputs"])["fine_height_px"]
        h_on = on.generate(batch["inputs"])["fine_height_px"]
        # a fresh head adds a small correction to the neighbours' height
        nbr = batch["inputs"]["neighbour_height"]
        assert (h_on - nbr).abs().max() < (h_off - nbr).abs().max()
        inputs = dict(batch["inputs"])
        del inputs["neighbour_height"]
        off.generate(inputs)  # the default does not need it
        with pytest.raises(KeyError, match="neighbour_height"):
            on.generate(inputs)


def test_prior_channel_lets_the_image_and_mask_follow_the_prior():
    torch.manual_seed(0)
    gen = HealthiVertGenerator(ngf=4, dilations=(2,), prior_channel=True).eval()
    assert gen.coarse.encoder[0][0].in_channels == 4  # CT, position, mask + the prior
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    mask = torch.zeros(2, 1, 32, 32)
    mask[..., 10:22, :] = 1
    args = (x, mask, torch.ones_like(mask), torch.tensor([0.0, 0.5]))
    with torch.no_grad():
        low = gen(*args, height_prior=torch.tensor([0.5, 0.5]))
        high = gen(*args, height_prior=torch.tensor([0.8, 0.8]))
    assert not torch.allclose(low["fine_seg"], high["fine_seg"])
    assert not torch.allclose(low["coarse_image"], high["coarse_image"])
    with pytest.raises(ValueError, match=r"prior_channel=True\) needs a height_prior"):
        gen(*args)


def test_fit_rows_to_spans_hand_case():
    from zoo.models.medical.healthivert_gan import fit_rows_to_spans

    seg = torch.zeros(3, 1, 16, 4)
    seg[0, :, 6:10, 1:3] = 1.0  # 4 rows, shorter than its span of 8
    seg[1, :, 2:14] = 1.0  # 12 rows, taller than its span of 6
    image = torch.arange(16.0).view(1, 1, 16, 1).expand(3, 1, 16, 4).clone()
    spans = [(4, 12), (5, 11), (3, 9)]  # the third sample has no foreground
    out_seg, out_img = fit_rows_to_spans(seg, image, spans)
    rows = [torch.nonzero(out_seg[i, 0].any(dim=1)).flatten().tolist() for i in range(2)]
    assert rows[0] == list(range(4, 12)) and rows[1] == list(range(5, 11))
    assert out_seg[0, 0, 4:12, 1:3].all() and not out_seg[0, 0, :, 0].any()  # columns kept
    # the image rows 6..9 are spread linearly over 4..11; rows outside the span unchanged
    torch.testing.assert_close(out_img[0, 0, 4:12, 0], torch.linspace(6, 9, 8))
    assert torch.equal(out_img[0, 0, :4], image[0, 0, :4])
    assert torch.equal(out_seg[2], seg[2]) and torch.equal(out_img[2], image[2])
    assert torch.equal(seg[0, 0, 4:6], torch.zeros(2, 4))  # inputs are not modified


def test_fit_height_option_gives_the_span_height(healthy_dataset):
    batch = default_collate([healthy_dataset[i] for i in range(4)])
    torch.manual_seed(0)
    model = HealthiVertGAN(generator=dict(ngf=4, dilations=(2, 4)), max_height=24,
                           neighbour_height=True, fit_height=True).eval()
    with torch.no_grad():  # an untrained generator draws no vertebra: make it draw rows 0..63
        model.generator.fine.to_seg[0].bias.fill_(20.0)  # spectral norm leaves the bias
        spans = model.generate(batch["inputs"])["fine_spans"]
    import zoo.models.medical.healthivert_gan as gan_module

    with mock.patch.object(gan_module, "fit_rows_to_spans",
                           wraps=gan_module.fit_rows_to_spans) as fit:
        preds = model.predict(batch["inputs"], batch["data_samples"])
        assert fit.call_count == 1
    for p, (top, bottom) in zip(preds, spans):
        rows = np.flatnonzero(p["syn_mask"].any(axis=1))
        assert (rows.min(), rows.max() + 1) == (top, bottom)
    # without the option the same segmentation is only cut to the span, not resampled
    model.fit_height = False
    with mock.patch.object(gan_module, "fit_rows_to_spans") as fit:
        preds = model.predict(batch["inputs"], batch["data_samples"])
        assert fit.call_count == 0
    for p, (top, bottom) in zip(preds, spans):
        rows = np.flatnonzero(p["syn_mask"].any(axis=1))
        assert rows.min() >= top and rows.max() < bottom
