"""ModTr models: fusion, translator, frozen detector (bit-identical after translator
training), the translator learning from the detector's loss, loading, PNG panels."""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper
from zoo.datasets.detection import SyntheticIRScenes
from zoo.models.detection import (
    ModTrDetector,
    ModTrTranslator,
    TorchvisionDetector,
    build_torchvision_detector,
    detector_state,
    draw_detection_panels,
    fuse,
    loss_mode,
)

# fpn_channels 64: FCOS GroupNorm(32) needs > 1 value per group on the 1x1 P7 of 64 px images
TINY_DET = dict(arch="fcos", backbone="tiny", backbone_channels=(8, 16, 32, 32), fpn_channels=64,
                num_classes=4, min_size=64, max_size=64)
TINY_TR = dict(type="ModTrTranslator", encoder="plain", encoder_depth=3,
               encoder_channels=(8, 16, 32), decoder_channels=(32, 16, 8))


def test_fusion_variants_hand_computed():
    t = torch.tensor([0.2, 0.8]).reshape(1, 1, 1, 2).expand(1, 3, 1, 2)
    x = torch.tensor([0.5, 1.0]).reshape(1, 1, 1, 2).expand(1, 3, 1, 2)
    assert torch.allclose(fuse(t, x, "product")[0, :, 0], torch.tensor([[0.1, 0.8]] * 3))
    assert torch.equal(fuse(t, x, "cross"), fuse(t, x, "product"))
    assert torch.allclose(fuse(t, x, "addition")[0, 0, 0], torch.tensor([0.35, 0.9]))
    assert torch.equal(fuse(t, x, "none"), t)
    att = fuse(t, x, "attention")[0, 0, 0]
    # pixel 0: channel sums 0.6 vs 1.5 -> weights softmax(0.6, 1.5)
    w = torch.softmax(torch.tensor([0.6, 1.5]), 0)
    assert att[0] == pytest.approx(float(w[0] * 0.2 + w[1] * 0.5), abs=1e-6)
    with pytest.raises(ValueError, match="fusion"):
        fuse(t, x, "max")


@pytest.mark.parametrize("cfg", [dict(encoder="plain", encoder_depth=2,
                                      encoder_channels=(4, 8), decoder_channels=(8, 4)),
                                 dict(encoder="resnet18", encoder_depth=3,
                                      decoder_channels=(32, 16, 8))])
def test_translator_shapes_and_range(cfg):
    net = ModTrTranslator(**cfg)
    out = net(torch.rand(2, 3, 37, 50))
    assert out.shape == (2, 3, 37, 50) and 0 < float(out.min()) and float(out.max()) < 1
    with pytest.raises(ValueError, match="encoder_depth"):
        ModTrTranslator(encoder_depth=6)


def test_build_all_archs_predict():
    imgs = [torch.rand(3, 64, 64)]
    for arch in ("fasterrcnn", "retinanet", "fcos"):
        det = build_torchvision_detector(**dict(TINY_DET, arch=arch)).eval()
        out = det(imgs)[0]
        assert set(out) >= {"boxes", "scores", "labels"}


def test_loss_mode_keeps_batchnorm_statistics():
    det = build_torchvision_detector(**TINY_DET).eval()
    before = detector_state(det)
    images = [torch.rand(3, 64, 64)]
    targets = [dict(boxes=torch.tensor([[5.0, 5, 30, 30]]), labels=torch.tensor([1]))]
    with loss_mode(det):
        losses = det(images, targets)
    assert "classification" in losses and not det.training
    assert all(torch.equal(before[k], v) for k, v in det.state_dict().items())
    det.train()  # the plain training mode would move the running statistics
    det(images, targets)
    assert any(not torch.equal(before[k], v) for k, v in det.state_dict().items())


def _rgb_detector_checkpoint(tmp_path):
    torch.manual_seed(0)
    rgb = TorchvisionDetector(detector=TINY_DET)
    path = tmp_path / "rgb_det.pth"
    torch.save({"state_dict": rgb.state_dict(), "meta": {}}, path)
    return rgb, path


def _batch(n=4, modality="ir"):
    ds = SyntheticIRScenes(split="train", modality=modality, num_samples=n, size=64)
    items = [ds[i] for i in range(n)]
    return dict(inputs=[b["inputs"] for b in items],
                data_samples=[b["data_samples"] for b in items])


def test_translator_trains_detector_stays_bit_identical(tmp_path):
    torch.manual_seed(0)
    rgb, path = _rgb_detector_checkpoint(tmp_path)
    model = ModTrDetector(translator=TINY_TR, detector=TINY_DET, detector_checkpoint=str(path),
                          fusion="none")
    assert all(torch.equal(v, rgb.detector.state_dict()[k])
               for k, v in model.detector.state_dict().items())
    frozen = detector_state(model.detector)
    translator0 = copy.deepcopy(model.translator.state_dict())
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=3e-3))
    data = _batch()
    model.train()
    assert not model.detector.training and model.translator.training
    losses = [sum(model.train_step(data, optim).values()).item() for _ in range(25)]
    assert all(p.grad is None for p in model.detector.parameters())
    after = model.detector.state_dict()
    assert all(torch.equal(frozen[k], after[k]) for k in frozen)  # params and BN buffers
    assert any(not torch.equal(translator0[k], v)
               for k, v in model.translator.state_dict().items())
    # the translator learns: the frozen detector's loss on these images falls
    assert sum(losses[-3:]) / 3 < 0.97 * sum(losses[:3]) / 3, losses


def test_use_translator_false_is_the_plain_detector(tmp_path):
    rgb, path = _rgb_detector_checkpoint(tmp_path)
    rgb.eval()
    model = ModTrDetector(translator=TINY_TR, detector=TINY_DET, detector_checkpoint=str(path),
                          use_translator=False).eval()
    data = _batch(2, "rgb")
    with torch.no_grad():
        a = model.test_step(data)
        b = rgb.test_step(data)
    assert torch.equal(a[0].pred_instances.bboxes, b[0].pred_instances.bboxes)
    assert torch.equal(a[0].translated_img, data["inputs"][0])


def test_checkpoint_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        ModTrDetector(translator=TINY_TR, detector=TINY_DET,
                      detector_checkpoint=str(tmp_path / "missing.pth"))
    other = TorchvisionDetector(detector=dict(TINY_DET, fpn_channels=32))
    torch.save({"state_dict": other.state_dict()}, tmp_path / "other.pth")
    with pytest.raises((KeyError, RuntimeError), match="other.pth"):
        ModTrDetector(translator=TINY_TR, detector=TINY_DET,
                      detector_checkpoint=str(tmp_path / "other.pth"))


def test_panels_png(tmp_path):
    model = ModTrDetector(translator=TINY_TR, detector=TINY_DET).eval()
    data = _batch(1)
    with torch.no_grad():
        sample = model.test_step(data)[0]
    path = tmp_path / "x.png"
    draw_detection_panels(str(path), data["inputs"][0], sample, ("a", "b", "c"), score_thr=0.0)
    import skimage.io

    img = skimage.io.imread(path)
    assert img.shape[1] > 2.2 * img.shape[0]  # three panels side by side


