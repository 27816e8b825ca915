import pytest
import torch
from mmengine.registry import init_default_scope
from shared_data import assert_close_to_scale
from zoo.models.classifiers import SkeletonRecognizer
from zoo.models.skeleton.stgcn import STGCN

from zoo.converters import convert_stgcn_official

init_default_scope("zoo")


def official_stgcn_recognizer(num_classes=60):
    return SkeletonRecognizer(
        backbone=dict(type="STGCN", graph_cfg=dict(layout="ntu25", mode="stgcn_spatial")),
        cls_head=dict(type="GCNHead", in_channels=256, num_classes=num_classes),
    )


# Tolerances relative to the scale of the official logits (max |logit| = 0.285). Measured on
# the shared CPU: float32 error 1.0e-7 (3.7e-7 of the scale), float64 run 1.0e-7 (3.5e-7: what
# is left is the float32 rounding inside the official output itself). Changing every
# BatchNorm eps tenfold moves the logits by 3.3e-5 (1.1e-4 of the scale), 57x the float32
# tolerance; the old check (atol 1e-4 on logits <= 0.29) let that through.
FLOAT32_REL, FLOAT64_REL = 2e-6, 1e-6


def converted_official(ref):
    model = official_stgcn_recognizer()
    assert sum(p.numel() for p in model.parameters()) == 3_098_832
    model.load_state_dict(convert_stgcn_official(ref["state_dict"]), strict=True)
    return model.eval()


def assert_gives_the_official_logits(model, ref):
    (x,) = ref["inputs"]  # official layout N C T V M
    assert ref["meta"]["input_layout"] == "N C T V M"
    x = x.permute(0, 4, 2, 3, 1)
    with torch.no_grad():
        logits = model.float()(x)
        logits64 = model.double()(x.double())
    assert_close_to_scale(logits, ref["logits"], FLOAT32_REL, "float32")
    assert_close_to_scale(logits64, ref["logits"], FLOAT64_REL, "float64")


def test_converted_official_weights_give_the_official_logits(reference_dir):
    ref = torch.load(reference_dir / "stgcn_official_ntu60.pt", weights_only=True)
    assert_gives_the_official_logits(converted_official(ref), ref)


def test_fidelity_tolerance_catches_a_tenfold_batchnorm_eps(reference_dir):
    """Control: the tolerance above is tight enough to see every BatchNorm's eps x10."""
    ref = torch.load(reference_dir / "stgcn_official_ntu60.pt", weights_only=True)
    model = converted_official(ref)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert len(norms) == 23  # data_bn, two per temporal unit (10 blocks), two residuals
    for m in norms:
        m.eps *= 10
    with pytest.raises(AssertionError, match="float32"):
        assert_gives_the_official_logits(model, ref)


def test_converter_names_an_unexpected_key():
    with pytest.raises(KeyError, match="unexpected key 'head.weight'"):
        convert_stgcn_official({"head.weight": torch.zeros(1)})
    with pytest.raises(KeyError, match="cls_head.fc.weight"):
        convert_stgcn_official({"data_bn.weight": torch.zeros(75)})


def test_shapes_and_wrong_joint_count():
    net = STGCN(graph_cfg=dict(layout="kinect20"), base_channels=8)
    out = net(torch.randn(2, 1, 16, 20, 3))
    assert out.shape == (2, 1, 32, 4, 20)
    with pytest.raises(ValueError, match="V=20 joints .* got V=25"):
        net(torch.randn(2, 1, 16, 25, 3))


def test_small_stgcn_learns_two_motions():
    """Two classes that differ only in how a limb moves: the loss must fall clearly."""
    torch.manual_seed(0)
    t = torch.linspace(0, 6.28, 16)

    def batch(n):
        x = torch.randn(n, 1, 16, 20, 3) * 0.05
        y = torch.arange(n) % 2
        x[y == 0, 0, :, 7, 1] += torch.sin(t)  # left hand moves up and down
        x[y == 1, 0, :, 11, 0] += torch.sin(t)  # right hand moves sideways
        return x, y

    x, y = batch(64)
    model = SkeletonRecognizer(
        # no input BN: it would blow the 5 cm noise of the still joints up to unit variance
        backbone=dict(type="STGCN", graph_cfg=dict(layout="kinect20"), base_channels=8,
                      num_stages=4, inflate_stages=(3,), down_stages=(3,), data_bn=False),
        cls_head=dict(type="GCNHead", in_channels=16, num_classes=2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    model.eval()
    x_new, y_new = batch(32)
    assert (model(x_new).argmax(1) == y_new).float().mean() >= 0.9  # unseen samples
