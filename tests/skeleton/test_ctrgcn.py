"""CTR-GCN: fidelity to the official outputs, the PYSKL converter, errors and learning."""
import pytest
import torch
from mmengine.registry import init_default_scope
from shared_data import assert_close_to_scale
from zoo.models.classifiers import SkeletonRecognizer
from zoo.models.skeleton.ctrgcn import CTRGC, CTRGCN
from zoo.models.skeleton.graph import Graph

from zoo.converters import convert_ctrgcn_official, convert_ctrgcn_pyskl

init_default_scope("zoo")

# fixture name -> (zoo layout, persons, classes, README parameter count)
OFFICIAL = {
    "ntu60": ("ntu25", 2, 60, 1_446_672),
    "ucla": ("kinect20", 1, 10, 1_426_892),
}


def zoo_recognizer(layout: str, persons: int, num_classes: int, variant: str = "official",
                   in_channels: int = 3):
    return SkeletonRecognizer(
        backbone=dict(type="CTRGCN", graph_cfg=dict(layout=layout, mode="spatial"),
                      num_person=persons, variant=variant, in_channels=in_channels),
        cls_head=dict(type="GCNHead", in_channels=256, num_classes=num_classes),
    )


def load_reference(reference_dir, name):
    return torch.load(reference_dir / f"ctrgcn_official_{name}.pt", weights_only=True)


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_converted_official_weights_give_the_official_logits(reference_dir, name):
    """The fixture's random weights make logits of order 1e7, where one float32 ulp is ~1, so
    the comparison is made on logits divided by their largest magnitude (1e-4 of the scale),
    and in float64 (within 1e-5 of the scale of the float32 reference)."""
    ref = load_reference(reference_dir, name)
    layout, persons, num_classes, params = OFFICIAL[name]
    kwargs = ref["meta"]["kwargs"]
    assert (kwargs["num_person"], kwargs["num_class"]) == (persons, num_classes)
    assert ref["meta"]["input_layout"] == "N C T V M"
    model = zoo_recognizer(layout, persons, num_classes)
    assert sum(p.numel() for p in model.parameters()) == params
    model.load_state_dict(convert_ctrgcn_official(ref["state_dict"]), strict=True)
    model.eval()
    (x,) = ref["inputs"]
    x = x.permute(0, 4, 2, 3, 1)  # N C T V M -> N M T V C
    scale = ref["logits"].abs().max()
    with torch.no_grad():
        logits = model(x)
    torch.testing.assert_close(logits / scale, ref["logits"] / scale, atol=1e-4, rtol=0)
    with torch.no_grad():  # float64: within 1e-5 of the scale of the float32 reference
        logits64 = model.double()(x.double())
    torch.testing.assert_close(logits64 / scale, ref["logits"].double() / scale, atol=1e-5,
                               rtol=0)
    assert torch.equal(logits.argmax(1), ref["logits"].argmax(1))


# the official graphs' ``inward_ori_index`` (1-based (child, parent)), graph/ntu_rgb_d.py and
# graph/ucla.py of Uason-Chen/CTR-GCN
OFFICIAL_INWARD = {
    "ntu25": [(1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21),
              (10, 9), (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1),
              (18, 17), (19, 18), (20, 19), (22, 23), (23, 8), (24, 25), (25, 12)],
    "kinect20": [(1, 2), (2, 3), (4, 3), (5, 3), (6, 5), (7, 6), (8, 7), (9, 3), (10, 9),
                 (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17),
                 (19, 18), (20, 19)],
}


@pytest.mark.parametrize("layout", sorted(OFFICIAL_INWARD))
def test_spatial_graph_is_the_official_initial_adjacency(layout):
    """I / inward / outward, each column-normalised (``A D^-1``), on the official edges."""
    edges = [(i - 1, j - 1) for i, j in OFFICIAL_INWARD[layout]]
    graph = Graph(layout, mode="spatial")
    assert sorted(graph.inward) == sorted(edges)
    v = graph.num_nodes
    expected = torch.zeros(3, v, v, dtype=torch.float64)
    expected[0] = torch.eye(v)
    for k, pairs in ((1, edges), (2, [(j, i) for i, j in edges])):
        for i, j in pairs:
            expected[k, j, i] = 1.0
        col = expected[k].sum(0)
        expected[k] /= torch.where(col > 0, col, torch.ones_like(col))
    torch.testing.assert_close(torch.tensor(graph.A, dtype=torch.float64), expected)


def pyskl_state_dict(official: dict) -> dict:
    """The official fixture renamed into PYSKL / MMAction2's layout (``backbone.net.i``,
    ``gcn1.A``, the graph buffer ``backbone.A``, head ``cls_head.fc_cls``), as in PYSKL's
    ``pyskl/models/gcns/ctrgcn.py`` and ``utils/gcn.py``."""
    out = {"backbone.A": official["l1.gcn1.PA"].clone()}
    for key, value in official.items():
        if key.startswith("data_bn."):
            out["backbone." + key] = value
        elif key.startswith("fc."):
            out["cls_head.fc_cls." + key[3:]] = value
        else:
            block, rest = key.split(".", 1)
            rest = "gcn1.A" if rest == "gcn1.PA" else rest
            out[f"backbone.net.{int(block[1:]) - 1}.{rest}"] = value
    return out


@pytest.mark.parametrize("head", ["fc_cls", "fc"])
def test_pyskl_converter_loads_strictly_and_keeps_every_tensor(reference_dir, head):
    official = load_reference(reference_dir, "ntu60")["state_dict"]
    state = pyskl_state_dict(official)
    if head == "fc":  # MMAction2 projects/ctrgcn uses GCNHead (cls_head.fc)
        state = {k.replace("cls_head.fc_cls.", "cls_head.fc."): v for k, v in state.items()}
    converted = convert_ctrgcn_pyskl(state)
    model = zoo_recognizer("ntu25", 2, 60, variant="pyskl")
    model.load_state_dict(converted, strict=True)
    assert torch.equal(model.backbone.layers[4].gcn.adjacency, official["l5.gcn1.PA"])
    assert torch.equal(model.backbone.layers[9].tcn.branches[2][4].running_var,
                       official["l10.tcn1.branches.2.4.running_var"])
    assert torch.equal(model.cls_head.fc.weight, official["fc.weight"])
    # same tensors as the official conversion: only the names differ
    by_official = convert_ctrgcn_official(official)
    assert converted.keys() == by_official.keys()
    assert all(torch.equal(converted[k], by_official[k]) for k in converted)


def load_pyskl_reference(reference_dir):
    """PYSKL's own CTRGCN + GCNHead (commit 3f6795f) on random weights, randomised BatchNorm
    statistics and non-zero ``alpha`` (../shared/reference/README.md)."""
    return torch.load(reference_dir / "ctrgcn_pyskl_ntu60.pt", weights_only=True)


def test_pyskl_variant_gives_pyskls_own_logits(reference_dir):
    """``variant="pyskl"`` + ``convert_ctrgcn_pyskl`` on PYSKL's module output. Measured: float32
    error 4.3e-6 on logits of scale 22.4 (1.9e-7 of it), float64 error 1.1e-14 against PYSKL's
    float64 run. The official variant on the same weights is off by 17.1."""
    ref = load_pyskl_reference(reference_dir)
    assert ref["meta"]["input_layout"] == "[N, M, T, V, C] = [2, 2, 64, 25, 3]"
    converted = convert_ctrgcn_pyskl(ref["state_dict"])
    model = SkeletonRecognizer(
        backbone=dict(type="CTRGCN", num_person=2, variant="pyskl"),  # default graph
        cls_head=dict(type="GCNHead", in_channels=256, num_classes=60))
    assert sum(p.numel() for p in model.parameters()) == ref["meta"]["params"] == 1_446_672
    # PYSKL's fixed graph buffer (dropped by the converter) is the zoo's default pyskl graph
    assert torch.equal(model.backbone.layers[0].gcn.adjacency.detach(),
                       ref["state_dict"]["backbone.A"])
    model.load_state_dict(converted, strict=True)
    model.eval()
    (x,) = ref["inputs"]
    with torch.no_grad():
        logits = model.float()(x)
        logits64 = model.double()(x.double())
    assert_close_to_scale(logits, ref["logits"], 2e-6, "float32")
    assert_close_to_scale(logits64, ref["logits_float64"], 1e-12, "float64")
    official = zoo_recognizer("ntu25", 2, 60, variant="official")
    official.load_state_dict(converted, strict=True)
    with torch.no_grad():
        off = official.eval()(x)
    assert (off - ref["logits"]).abs().max() > 0.1 * ref["logits"].abs().max()


def test_pyskl_graph_is_pyskls_nturgbd_graph(reference_dir):
    """PYSKL's ``Graph(layout='nturgb+d', mode='spatial')`` links hand tip and thumb to the
    hand (zoo layout ``ntu25_pyskl``); the official CTR-GCN graph chains them."""
    pyskl_A = load_pyskl_reference(reference_dir)["state_dict"]["backbone.A"]
    assert torch.equal(torch.tensor(Graph("ntu25_pyskl", mode="spatial").A), pyskl_A)
    assert not torch.equal(torch.tensor(Graph("ntu25", mode="spatial").A), pyskl_A)
    for variant, layout in (("pyskl", "ntu25_pyskl"), ("official", "ntu25")):
        net = CTRGCN(variant=variant, base_channels=8, num_stages=1)
        assert net.graph.layout.name == layout
    # the shipped PYSKL / MMAction2 config starts from PYSKL's graph too
    from zoo.hub.api import build_model

    model = build_model("ctrgcn_ntu60_xsub_joint_pyskl", pretrained=False)
    assert torch.equal(model.backbone.layers[9].gcn.adjacency.detach(), pyskl_A)


def test_pyskl_variant_is_the_transposed_aggregation_and_relu_after_the_tcn():
    """Hand-computed case for ``CTRGC``: official ``Z_u = sum_v Q_uv x_v``, PYSKL
    ``Z_v = sum_u Q_uv x_u``; and the PYSKL temporal module ends in a ReLU."""
    torch.manual_seed(0)
    official, pyskl = CTRGC(24, 5), CTRGC(24, 5, variant="pyskl")
    pyskl.load_state_dict(official.state_dict())
    x, A = torch.randn(2, 24, 3, 6), torch.randn(6, 6)
    alpha = 0.7
    phi, psi = official.conv1(x).mean(2), official.conv2(x).mean(2)
    rel = torch.tanh(phi[..., :, None] - psi[..., None, :])
    q = torch.einsum("cr,nruv->ncuv", official.conv4.weight[:, :, 0, 0], rel)
    q = (q + official.conv4.bias[None, :, None, None]) * alpha + A
    value = official.conv3(x)
    z_official = (q[:, :, None] * value[:, :, :, None, :]).sum(-1)  # sum over v
    z_pyskl = (q[:, :, None] * value[:, :, :, :, None]).sum(-2)  # sum over u
    with torch.no_grad():
        torch.testing.assert_close(official(x, A, alpha), z_official, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(pyskl(x, A, alpha), z_pyskl, atol=1e-5, rtol=1e-5)
    net = CTRGCN(graph_cfg=dict(layout="kinect20", mode="spatial"), base_channels=8,
                 num_stages=2, num_person=1, variant="pyskl")
    tcn_out = net.layers[1].tcn(torch.randn(2, 8, 6, 20))
    assert tcn_out.min() >= 0


def test_converters_name_unexpected_and_missing_keys(reference_dir):
    official = load_reference(reference_dir, "ucla")["state_dict"]
    with pytest.raises(KeyError, match="unexpected key 'head.weight'"):
        convert_ctrgcn_official({**official, "head.weight": torch.zeros(1)})
    state = {k: v for k, v in official.items() if not k.startswith("l3.")}
    with pytest.raises(KeyError, match="backbone.layers.2.gcn.adjacency"):
        convert_ctrgcn_official(state)
    state = {k: v for k, v in official.items() if k != "fc.weight"}
    with pytest.raises(KeyError, match="cls_head.fc.weight"):
        convert_ctrgcn_official(state)
    pyskl = pyskl_state_dict(official)
    with pytest.raises(KeyError, match="unexpected key 'backbone.net.0.gcn1.PA'"):
        convert_ctrgcn_pyskl({**pyskl, "backbone.net.0.gcn1.PA": torch.zeros(1)})
    with pytest.raises(KeyError, match="both cls_head.fc and cls_head.fc_cls"):
        convert_ctrgcn_pyskl({**pyskl, "cls_head.fc.weight": official["fc.weight"]})


def test_shapes_and_input_errors():
    net = CTRGCN(graph_cfg=dict(layout="coco17", mode="spatial"), base_channels=8,
                 num_person=2)
    assert net(torch.randn(2, 2, 16, 17, 3)).shape == (2, 2, 32, 4, 17)
    assert net.out_channels == 32
    with pytest.raises(ValueError, match="M=2 persons, V=17 joints .* got M=1, V=17"):
        net(torch.randn(2, 1, 16, 17, 3))
    with pytest.raises(ValueError, match="expects \\[N, M, T, V, C\\]"):
        net(torch.randn(2, 16, 17, 3))
    with pytest.raises(ValueError, match="unknown CTR-GCN variant 'mmaction'"):
        CTRGCN(variant="mmaction")
    with pytest.raises(ValueError, match="divisible by the 4 temporal branches"):
        CTRGCN(base_channels=10)


def test_tiny_ctrgcn_learns_the_synthetic_actions():
    """A narrow four-block CTR-GCN picks up the ten embedded motions of
    ``SyntheticSkeletonActions`` (NTU-25) within four epochs of 200 clips: the epoch loss falls
    and held-out accuracy is well above chance (0.1). Measured with this seed on the shared CPU:
    epoch losses 2.31 / 2.16 / 2.03 / 1.83, held-out accuracy 0.39 after epoch 4."""
    from zoo.datasets.skeleton.synthetic import SyntheticSkeletonActions

    torch.manual_seed(0)
    pipeline = [dict(type="PreNormalize3D", layout="ntu25"),
                dict(type="GenSkeFeat", layout="ntu25", feats=["j"]),
                dict(type="UniformSampleFrames", clip_len=16), dict(type="PoseDecode"),
                dict(type="FormatGCNInput", num_person=1), dict(type="PackSkeletonInputs")]
    train = SyntheticSkeletonActions(split="train", num_per_class=20, pipeline=pipeline)
    test = SyntheticSkeletonActions(split="test", num_per_class=10, pipeline=pipeline)

    def stack(ds):
        items = [ds[i] for i in range(len(ds))]
        return (torch.stack([it["inputs"] for it in items]),
                [it["data_samples"] for it in items])

    x, samples = stack(train)
    x_test, samples_test = stack(test)
    y_test = torch.cat([s.gt_label for s in samples_test])
    model = SkeletonRecognizer(
        backbone=dict(type="CTRGCN", graph_cfg=dict(layout="ntu25", mode="spatial"),
                      base_channels=8, num_stages=4, inflate_stages=(3,), down_stages=(3,),
                      num_person=1),
        cls_head=dict(type="GCNHead", in_channels=16, num_classes=10))
    optim = torch.optim.Adam(model.parameters(), lr=1e-2)
    epoch_losses = []
    for _ in range(4):
        order, losses = torch.randperm(len(samples)), []
        for start in range(0, len(order), 25):
            idx = order[start:start + 25]
            loss = model(x[idx], [samples[i] for i in idx], mode="loss")["loss_cls"]
            optim.zero_grad()
            loss.backward()
            optim.step()
            losses.append(loss.item())
        epoch_losses.append(sum(losses) / len(losses))
    assert epoch_losses[-1] < 0.9 * epoch_losses[0], epoch_losses
    model.eval()
    with torch.no_grad():
        acc = (model(x_test).argmax(-1) == y_test).float().mean()
    assert acc >= 0.3, acc


@pytest.mark.parametrize("variant", ["official", "pyskl"])
def test_matmul_aggregation_is_the_papers_einsum(variant):
    """CTRGC's batched matrix product (and, officially, Q^T built directly) against the
    papers' einsum over Q = alpha * conv4(tanh(phi_u - psi_v)) + A, with alpha != 0 and a
    non-symmetric A so that a transposed or sign-flipped relation term would show."""
    torch.manual_seed(0)
    m = CTRGC(16, 12, variant=variant)
    x, A, alpha = torch.randn(3, 16, 10, 7), torch.randn(7, 7), torch.tensor([0.7])
    with torch.no_grad():
        mean = x.mean(-2, keepdim=True)
        phi, psi = m.conv1(mean).squeeze(-2), m.conv2(mean).squeeze(-2)
        q = m.conv4(torch.tanh(phi[..., :, None] - psi[..., None, :])) * alpha + A
        value = m.conv3(x)
        spec = "ncuv,nctu->nctv" if variant == "pyskl" else "ncuv,nctv->nctu"
        torch.testing.assert_close(m(x, A, alpha), torch.einsum(spec, q, value),
                                   rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("variant", ["official", "pyskl"])
def test_unit_folded_for_inference_is_the_unit(variant):
    """CTRGCUnit.fold_for_inference_: BatchNorm scale in conv3, alpha in conv4, shift and
    the subsets' products accumulated onto the residual — the eval output of the unit (with
    a projecting and an identity residual), in fp32 and under bf16 autocast; only in eval
    mode, and a second fold changes nothing."""
    from zoo.models.skeleton.ctrgcn import CTRGCUnit

    A = torch.tensor(Graph(layout="ntu25", mode="spatial").A, dtype=torch.float32)
    for c_in, c_out in ((8, 16), (16, 16)):
        torch.manual_seed(0)
        unit = CTRGCUnit(c_in, c_out, A, variant)
        with torch.no_grad():
            unit.alpha.fill_(0.6)
            for bn in (unit.bn, *unit.down.modules()):
                if isinstance(bn, torch.nn.BatchNorm2d):
                    bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2)
                    bn.weight.uniform_(0.5, 2), bn.bias.uniform_(-1, 1)
        x = torch.randn(3, c_in, 12, 25)
        with pytest.raises(RuntimeError, match="eval-mode"):
            unit.fold_for_inference_()
        assert unit.folded_shift is None
        unit.eval()
        with torch.no_grad():
            ref = unit(x)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                ref_bf16 = unit(x).float()
            assert unit.fold_for_inference_()
            torch.testing.assert_close(unit(x), ref, rtol=1e-5, atol=1e-5 * ref.abs().max())
            with torch.autocast("cpu", dtype=torch.bfloat16):
                got = unit(x)
        assert got.dtype == torch.bfloat16
        assert (got.float() - ref_bf16).abs().max() <= 0.05 * ref.abs().max()
        assert isinstance(unit.bn, torch.nn.Identity)
        assert not unit.fold_for_inference_()  # folded already: nothing scaled twice
        with torch.no_grad():
            torch.testing.assert_close(unit(x), ref, rtol=1e-5, atol=1e-5 * ref.abs().max())
