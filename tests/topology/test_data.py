"""Brick-wall generator, image+mask folder reader and segmentation transforms."""
from __future__ import annotations

import numpy as np
import pytest
from zoo.datasets.segmentation.transforms import tubed_skeleton
from zoo.datasets.segmentation.walls import make_wall, wall_geometry

from zoo.evaluation.topology import betti_numbers
from zoo.registry import DATASETS, TRANSFORMS


def test_wall_labels_are_the_geometry_and_deterministic():
    a = make_wall((0, 0, 3), size=96)
    b = make_wall((0, 0, 3), size=96)
    np.testing.assert_array_equal(a["img"], b["img"])
    mortar, ids = wall_geometry(np.random.default_rng((0, 0, 3)), 96)
    np.testing.assert_array_equal(a["gt_seg"], mortar.astype(np.uint8))
    assert a["img"].shape == (96, 96, 3) and a["img"].dtype == np.float32
    assert 0.0 <= a["img"].min() and a["img"].max() <= 1.0
    # mortar is brighter than brick on average (in-distribution palette) -> learnable
    grey = a["img"].mean(-1)
    assert grey[mortar].mean() > grey[~mortar].mean()
    b0, b1 = betti_numbers(mortar)
    inner_bricks = len(set(np.unique(ids[1:-1, 1:-1])) - {-1}
                       - set(ids[0]) - set(ids[-1]) - set(ids[:, 0]) - set(ids[:, -1]))
    assert b1 == inner_bricks > 5  # every brick away from the border is a hole
    assert b0 <= 3  # one network of mortar (corner fragments aside)


def test_label_variants_and_styles_differ():
    acc = make_wall((1, 0, 0), 96)
    noisy = make_wall((1, 0, 0), 96, label_type="noisy")
    pseudo = make_wall((1, 0, 0), 96, label_type="pseudo")
    np.testing.assert_array_equal(noisy["gt_seg_accurate"], acc["gt_seg"])
    for variant in (noisy, pseudo):
        changed = (variant["gt_seg"] != acc["gt_seg"]).mean()
        assert 0.005 < changed < 0.5
    means = {s: np.mean([make_wall((2, k), 64, s)["img"].mean((0, 1)) for k in range(6)], 0)
             for s in ("id", "ood_colour")}
    assert np.abs(means["id"] - means["ood_colour"]).max() > 0.1
    with pytest.raises(ValueError, match="label_type"):
        make_wall(0, 64, label_type="perfect")


def test_brick_walls_dataset_and_folder_reader(tmp_path):
    from zoo.datasets.segmentation.walls import write_wall_folder

    ds = DATASETS.build(dict(type="BrickWalls", split="test_ood_texture", num_samples=3,
                             size=64))
    item = ds[0]
    assert tuple(item["inputs"].shape) == (3, 64, 64)
    assert tuple(item["data_samples"].gt_sem_seg.shape) == (64, 64)
    with pytest.raises(ValueError, match="accurate labels only"):
        DATASETS.build(dict(type="BrickWalls", split="test", label_type="noisy"))
    write_wall_folder(str(tmp_path), 2, size=64, split="test_ood_texture")
    folder = DATASETS.build(dict(type="ImageMaskFolder", data_root=str(tmp_path)))
    assert len(folder) == 2
    got = folder[0]
    np.testing.assert_array_equal(got["data_samples"].gt_sem_seg.numpy(),
                                  item["data_samples"].gt_sem_seg.numpy())
    assert np.abs(got["inputs"].numpy() - item["inputs"].numpy()).max() <= 1 / 255 + 1e-6
    (tmp_path / "masks" / "001.png").unlink()
    with pytest.raises(FileNotFoundError, match="no mask"):
        DATASETS.build(dict(type="ImageMaskFolder", data_root=str(tmp_path)))


def test_tubed_skeleton_of_a_bar():
    seg = np.zeros((30, 40), np.uint8)
    seg[10:19, 5:35] = 2  # a 9-px thick bar of class 2: skeleton = row 14
    tube = tubed_skeleton(seg, dilations=2)
    assert set(np.unique(tube)) == {0, 2}
    rows = np.nonzero(tube[:, 20])[0]
    np.testing.assert_array_equal(rows, np.arange(12, 17))  # 1-px line dilated twice: 5 px
    assert not tube[seg == 0].any()
    assert tubed_skeleton(np.zeros((5, 5, 5), np.uint8)).sum() == 0
    vol = np.zeros((9, 9, 20), np.uint8)
    vol[3:6, 3:6, 2:18] = 1
    assert tubed_skeleton(vol, 0).sum() >= 10  # a 3-D line skeleton exists


def test_albu_and_tubed_skeleton_transforms():
    wall = make_wall((4, 0, 0), 64)
    flip = TRANSFORMS.build(dict(type="AlbuSeg", transforms=[dict(name="HorizontalFlip", p=1)]))
    out = flip(dict(img=wall["img"].copy(), gt_seg=wall["gt_seg"].copy()))
    np.testing.assert_array_equal(out["gt_seg"], wall["gt_seg"][:, ::-1])
    np.testing.assert_allclose(out["img"], wall["img"][:, ::-1])
    out = TRANSFORMS.build(dict(type="TubedSkeleton"))(out)
    # the tube is the skeleton dilated and multiplied by the label: inside the mortar,
    # covering most of it (mortar lines are 2-3 px wide)
    assert not out["gt_skel"][out["gt_seg"] == 0].any()
    assert 0.5 < out["gt_skel"].sum() / out["gt_seg"].sum() <= 1.0
    packed = TRANSFORMS.build(dict(type="PackSegInputs"))(out)
    assert packed["data_samples"].gt_skel.shape == (64, 64)
    with pytest.raises(KeyError, match="not an albumentations"):
        TRANSFORMS.build(dict(type="AlbuSeg", transforms=[dict(name="Flipperoo")]))
