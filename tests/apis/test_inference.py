"""zoo.apis.init_recognizer / inference_skeleton on a model trained by tools/train.py."""
import numpy as np
import pytest
import torch

from zoo.apis import InferenceMetaError, inference_skeleton, init_recognizer
from zoo.checkpoint import safe_torch_load

from .conftest import CLASSES, IMG, load_tool, synthetic_clip


def test_checkpoint_meta_carries_classes_layout_pipeline(trained):
    meta = safe_torch_load(trained["checkpoint"])["meta"]["inference"]
    assert meta["classes"] == list(CLASSES)
    assert meta["layout"] == "coco17"
    types = [step["type"] for step in meta["test_pipeline"]]
    assert types[0] == "PreNormalize2D" and types[-1] == "PackSkeletonInputs"
    assert meta["test_pipeline"][2]["num_clips"] == 5


def test_top1_equals_tools_test(trained, tmp_path):
    from zoo.datasets.skeleton.coco2d import COCO2DClips

    from zoo.evaluation.dump import load_predictions

    test_tool = load_tool("test.py")
    dump = tmp_path / "preds.npz"
    test_tool.main([str(trained["config"]), str(trained["checkpoint"]), "--dump", str(dump),
                    "--work-dir", str(tmp_path / "w")])
    preds = load_predictions(str(dump))
    by_id = {str(i): s for i, s in zip(preds["ids"], preds["scores"])}
    model = init_recognizer(trained["config"], trained["checkpoint"])
    dataset = COCO2DClips(str(trained["data"]), split="test")
    assert len(by_id) == len(dataset) == 12
    tops = []
    for i in range(len(dataset)):
        raw = dataset.get_data_info(i)
        top = inference_skeleton(model, raw, topk=3)
        ref = by_id[raw["frame_dir"]]
        assert top[0][0] == CLASSES[int(np.argmax(ref))]
        np.testing.assert_allclose([s for _, s in top], np.sort(ref)[::-1][:3], atol=1e-5)
        tops.append(top[0][1])
    assert np.ptp(tops) > 1e-4  # the scores differ between samples: a real comparison


def test_config_from_checkpoint_keypoints_and_files(trained, tmp_path):
    """No config, no data set: the checkpoint alone; arrays and clip files give the same."""
    model = init_recognizer(None, trained["checkpoint"])
    clip = synthetic_clip(0, 24, np.random.default_rng(5))
    from_array = inference_skeleton(model, clip, img_shape=IMG)
    np.save(tmp_path / "c.npy", clip)
    from_file = inference_skeleton(model, tmp_path / "c.npy", img_shape=IMG)
    from_tensor = inference_skeleton(model, torch.from_numpy(clip[0]), img_shape=IMG)
    assert from_array == from_file == from_tensor
    assert len(from_array) == 3 and {c for c, _ in from_array} == set(CLASSES)
    assert abs(sum(s for _, s in from_array) - 1) < 1e-5


def test_checkpoint_without_meta_is_a_clear_error(trained, tmp_path):
    ckpt = torch.load(trained["checkpoint"], weights_only=False)
    ckpt["meta"].pop("inference")
    ckpt["meta"].pop("dataset_meta", None)
    bare = tmp_path / "bare.pth"
    torch.save(ckpt, bare)
    with pytest.raises(InferenceMetaError, match=r"bare.pth: no classes .*pass them.*classes="):
        init_recognizer(trained["config"], bare)
    model = init_recognizer(trained["config"], bare, classes=["a", "b", "c"])
    assert {c for c, _ in inference_skeleton(model, synthetic_clip(1, 24, np.random.default_rng(1)),
                                             img_shape=IMG)} == {"a", "b", "c"}
    with pytest.raises(InferenceMetaError, match="2 class names for a model with 3 outputs"):
        init_recognizer(trained["config"], bare, classes=["a", "b"])


def test_amp_inference_runs_in_bf16_and_agrees(trained):
    """init_recognizer(amp=True): the backbone runs in bf16 (dtype probe), the scores stay
    within 0.03 of fp32 and the top-1 class agrees on every test clip; ``amp=False`` on the
    call gives the fp32 result exactly."""
    from zoo.datasets.skeleton.coco2d import COCO2DClips

    fp32_model = init_recognizer(trained["config"], trained["checkpoint"])
    model = init_recognizer(trained["config"], trained["checkpoint"], amp=True)
    assert model.inference_amp is True and fp32_model.inference_amp is False
    seen = []
    model.backbone.register_forward_hook(lambda m, a, out: seen.append(out.dtype))
    dataset = COCO2DClips(str(trained["data"]), split="test")
    largest = 0.0
    for i in range(len(dataset)):
        raw = dataset.get_data_info(i)
        ref = dict(inference_skeleton(fp32_model, raw, topk=3))
        top = inference_skeleton(model, raw, topk=3)
        assert top[0][0] == next(iter(ref))
        largest = max(largest, max(abs(s - ref[c]) for c, s in top if c in ref))
        assert inference_skeleton(model, raw, topk=3, amp=False) == list(ref.items())
    assert set(seen) == {torch.bfloat16, torch.float32}  # amp calls, then the amp=False ones
    assert seen[0] == torch.bfloat16
    assert 0 < largest < 0.03, largest


def test_demo_amp_flag_reaches_the_recogniser(monkeypatch):
    demo = load_tool("demo/skeleton_demo.py")
    calls = []

    def fake_init(config, checkpoint, **kwargs):
        calls.append(kwargs)
        raise RuntimeError("stop after init_recognizer")

    monkeypatch.setattr(demo, "init_recognizer", fake_init)
    for flag, expected in (([], False), (["--amp"], True)):
        with pytest.raises(RuntimeError, match="stop after"):
            demo.main(["video.mp4", "--checkpoint", "x.pth", "--out", "o.mp4", *flag])
        assert calls[-1]["amp"] is expected
