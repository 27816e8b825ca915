"""Generated RGB / IR scenes and the COCO-style reader (round trip and clear errors)."""
import json

import numpy as np
import pytest
from zoo.datasets.detection import (
    CocoIRDetection,
    DetAnnotationError,
    SyntheticIRScenes,
    make_scene,
    rgb_to_ir,
    write_scenes_coco,
)


def test_scene_is_deterministic_aligned_and_ir_like():
    a, b = make_scene((0, 0, 3), 96), make_scene((0, 0, 3), 96)
    assert np.array_equal(a["rgb"], b["rgb"]) and np.array_equal(a["bboxes"], b["bboxes"])
    assert a["rgb"].shape == (96, 96, 3) and a["ir"].shape == (96, 96, 1)
    assert len(a["bboxes"]) == len(a["labels"]) >= 1
    boxes = a["bboxes"]
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2:] <= 96).all()
    assert (boxes[:, 2:] > boxes[:, :2]).all()
    assert set(a["labels"].tolist()) <= {1, 2, 3}
    # IR is the inverted luminance: strongly anti-correlated with the RGB brightness.
    lum = a["rgb"].astype(float) @ np.array([0.299, 0.587, 0.114])
    corr = np.corrcoef(lum.ravel(), a["ir"][..., 0].astype(float).ravel())[0, 1]
    assert corr < -0.6
    assert not np.array_equal(make_scene((0, 0, 4), 96)["rgb"], a["rgb"])


def test_rgb_to_ir_inverts_blurs_and_remaps():
    ramp = np.repeat(np.linspace(0, 1, 64)[None, :, None], 3, axis=-1).repeat(8, 0)
    ir = rgb_to_ir(ramp.astype(np.float32), rng=None, blur=0.0)[4, :, 0]
    assert np.all(np.diff(ir) <= 1e-6) and ir[0] > 0.95 and ir[-1] < 0.05  # inverted
    # the logistic curve steepens mid-tones: the middle step is larger than a linear one
    assert abs(ir[33] - ir[31]) > 2 / 63
    step = np.zeros((16, 16, 3), np.float32)
    step[:, 8:] = 1
    blurred = rgb_to_ir(step, rng=None, blur=1.5, gain=1e-3)[8, :, 0]
    assert 0.02 < blurred[7] < 0.98  # the edge is no longer sharp


def test_synthetic_dataset_modalities_share_boxes():
    ir = SyntheticIRScenes(split="val", modality="ir", num_samples=3, size=64)
    rgb = SyntheticIRScenes(split="val", modality="rgb", num_samples=3, size=64)
    s_ir, s_rgb = ir[1], rgb[1]
    assert s_ir["inputs"].shape == (1, 64, 64) and s_rgb["inputs"].shape == (3, 64, 64)
    assert 0 <= float(s_ir["inputs"].min()) and float(s_ir["inputs"].max()) <= 1
    assert np.array_equal(s_ir["data_samples"].gt_instances.bboxes.numpy(),
                          s_rgb["data_samples"].gt_instances.bboxes.numpy())
    with pytest.raises(ValueError, match="modality"):
        SyntheticIRScenes(modality="thermal")


def test_coco_round_trip(tmp_path):
    ann = write_scenes_coco(str(tmp_path), "val", num_samples=4, size=64)
    ds = CocoIRDetection(str(tmp_path), "annotations/val.json", img_prefix="infrared/val")
    assert len(ds) == 4 and ds.metainfo["classes"] == ("disk", "square", "triangle")
    for i in range(4):
        scene = make_scene((0, 1, i), 64)
        sample = ds[i]
        assert np.allclose(sample["data_samples"].gt_instances.bboxes.numpy(), scene["bboxes"])
        assert sample["data_samples"].gt_instances.labels.tolist() == scene["labels"].tolist()
        assert np.allclose(sample["inputs"][0].numpy() * 255, scene["ir"][..., 0], atol=0.5)
    rgb = CocoIRDetection(str(tmp_path), ann, img_prefix="visible/val", modality="rgb")
    assert rgb[0]["inputs"].shape == (3, 64, 64)


def _small_coco(tmp_path, box, file_name="a.png"):
    write_scenes_coco(str(tmp_path), "val", num_samples=1, size=64)
    (tmp_path / "infrared/val/000000.png").rename(tmp_path / "infrared/val/a.png")
    ann = dict(images=[dict(id=7, file_name=file_name, height=64, width=64)],
               annotations=[dict(id=1, image_id=7, category_id=1, bbox=box, iscrowd=0)],
               categories=[dict(id=1, name="person")])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(ann))
    return str(path)


def test_missing_annotation_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.json"):
        CocoIRDetection(str(tmp_path), "nothere.json")


def test_missing_image_is_named(tmp_path):
    ann = _small_coco(tmp_path, [1, 1, 10, 10], file_name="ghost.png")
    with pytest.raises(FileNotFoundError, match=r"ghost\.png.*bad\.json"):
        CocoIRDetection(str(tmp_path), ann, img_prefix="infrared/val")


def test_box_outside_image_is_named(tmp_path):
    ann = _small_coco(tmp_path, [50, 50, 30, 10])  # x2 = 80 > 64
    with pytest.raises(DetAnnotationError, match=r"bad\.json.*outside.*a\.png"):
        CocoIRDetection(str(tmp_path), ann, img_prefix="infrared/val")
    ok = CocoIRDetection(str(tmp_path), _small_coco(tmp_path, [50, 50, 14, 10]),
                         img_prefix="infrared/val")
    assert ok[0]["data_samples"].gt_instances.bboxes.tolist() == [[50, 50, 64, 60]]
