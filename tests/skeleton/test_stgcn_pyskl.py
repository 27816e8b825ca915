"""PYSKL / MMAction2 1.x ST-GCN (``PysklSTGCN`` + ``convert_stgcn_pyskl``): the converted
official checkpoints reproduce the official logits, the index entries load through the hub,
and bad checkpoints fail with a clear error.

The reference files (tests/skeleton/fixtures/stgcn_pyskl, README there) were produced by the
official PYSKL / MMAction2 module code on random weights.
"""
from __future__ import annotations

import dataclasses

import pytest
import torch
from mmengine.registry import init_default_scope
from zoo.models.classifiers import SkeletonRecognizer
from zoo.models.skeleton.graph import Graph
from zoo.models.skeleton.stgcn_pyskl import PysklSTGCN

from zoo.converters import convert_stgcn_pyskl
from zoo.hub import api
from zoo.hub.index import MODEL_INDEX
from zoo.hub.loading import load_state_dict_file

init_default_scope("zoo")

# fixture -> (zoo backbone kwargs, classes); the upstream kwargs are in the fixture's meta
CASES = {
    "stgcn_pyskl_ntu60": (dict(graph_cfg=dict(layout="ntu25_pyskl", mode="stgcn_spatial")), 60),
    "stgcn_mmaction2_coco": (dict(graph_cfg=dict(layout="coco17", mode="stgcn_spatial")), 60),
    "stgcnpp_pyskl_options": (dict(graph_cfg=dict(layout="coco17", mode="spatial"),
                                   base_channels=8, gcn_adaptive="init", gcn_with_res=True,
                                   tcn_type="mstcn", data_bn_type="MVC", num_person=2,
                                   tcn_dropout=0.5), 7),
    "stgcn_pyskl_offset_post": (dict(graph_cfg=dict(layout="openpose18", mode="stgcn_spatial"),
                                     in_channels=2, base_channels=8, gcn_adaptive="offset",
                                     gcn_conv_pos="post", data_bn_type=None, num_stages=6,
                                     inflate_stages=(3, 5), down_stages=(3, 5)), 5),
}

# backbone parameters of the official modules with these arguments (counted when the
# fixtures were made; the real NTU-60 checkpoints have the same sizes)
OFFICIAL_PARAMS = {"stgcn_pyskl_ntu60": 3_083_412, "stgcn_mmaction2_coco": 3_073_284}


def recognizer(kwargs: dict, num_classes: int) -> SkeletonRecognizer:
    backbone = PysklSTGCN(**kwargs)
    return SkeletonRecognizer(
        backbone=dict(type="PysklSTGCN", **kwargs),
        cls_head=dict(type="GCNHead", in_channels=backbone.out_channels,
                      num_classes=num_classes))


def assert_logits(model, io, scale_tol=1e-4):
    """float32 within ``scale_tol`` of the logit scale; float64 within 1e-9 of it."""
    x, ref = io["inputs"], io["logits"]
    scale = ref.abs().max()
    model.eval()
    with torch.no_grad():
        logits = model(x)
        torch.testing.assert_close(logits / scale, ref / scale, atol=scale_tol, rtol=0)
        logits64 = model.double()(x.double())
    torch.testing.assert_close(logits64 / scale, io["logits_float64"] / scale, atol=1e-9,
                               rtol=0)
    assert torch.equal(logits.argmax(1), ref.argmax(1))


@pytest.mark.parametrize("name", sorted(CASES))
def test_converted_official_checkpoint_gives_the_official_logits(stgcn_pyskl_reference, name):
    path, io = stgcn_pyskl_reference(name)
    kwargs, num_classes = CASES[name]
    state = load_state_dict_file(path)  # safe loading, unwraps {'state_dict': ...}
    converted = convert_stgcn_pyskl(state)
    assert len(converted) == len(state)  # a pure renaming
    model = recognizer(kwargs, num_classes)
    if name in OFFICIAL_PARAMS:
        assert sum(p.numel() for p in model.backbone.parameters()) == OFFICIAL_PARAMS[name]
    if kwargs.get("gcn_adaptive") != "init":  # the config builds the checkpoint's graph
        for i, layer in enumerate(model.backbone.layers):
            torch.testing.assert_close(layer.gcn.A, converted[f"backbone.layers.{i}.gcn.A"],
                                       atol=1e-7, rtol=0)
    model.load_state_dict(converted, strict=True)
    assert_logits(model, io)


def test_pyskl_ntu_graph_differs_from_the_official_one_only_at_the_hands():
    pyskl, official = Graph("ntu25_pyskl", "stgcn_spatial"), Graph("ntu25", "stgcn_spatial")
    assert set(pyskl.inward) ^ set(official.inward) == {(21, 22), (21, 7), (23, 24), (23, 11)}
    differs = torch.tensor(pyskl.A != official.A).any(0).nonzero()
    hands = {6, 7, 10, 11, 21, 22, 23, 24}  # wrists (degree changes), hands, tips, thumbs
    assert {int(j) for j in differs.flatten()} <= hands


# entry -> (fixture, head name of that source)
ENTRIES = {
    "stgcn_ntu60_xsub_joint_pyskl": ("stgcn_pyskl_ntu60", "fc_cls"),
    "stgcn_ntu60_xsub_joint_mmaction2": ("stgcn_pyskl_ntu60", "fc"),
    "stgcn_ntu60_xsub_hrnet2d_joint_mmaction2": ("stgcn_mmaction2_coco", "fc"),
}


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_index_entry_loads_with_convert_true(stgcn_pyskl_reference, name, tmp_path,
                                             monkeypatch):
    """The entry's config and converter, through the hub (download from a file:// URL,
    verified, converted, strictly loaded): the official logits."""
    fixture, head = ENTRIES[name]
    path, io = stgcn_pyskl_reference(fixture)
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["state_dict"] = {k.replace("cls_head.fc_cls.", f"cls_head.{head}."): v
                                for k, v in checkpoint["state_dict"].items()}
    served = tmp_path / "served" / "ckpt.pth"
    served.parent.mkdir()
    torch.save(checkpoint, served)
    monkeypatch.setenv("VSZOO_HOME", str(tmp_path / "cache"))
    entry = MODEL_INDEX[name]
    assert entry.converter == "convert_stgcn_pyskl" and entry.config
    test_name = "t_" + name
    monkeypatch.setitem(MODEL_INDEX, test_name, dataclasses.replace(
        entry, name=test_name, urls=(served.as_uri(),), sha256=api.sha256_file(served)))
    assert api.model_info(test_name)["converter_available"]
    state = api.load_pretrained(test_name, convert=True, progress=False)
    assert "cls_head.fc.weight" in state
    assert not any(k.startswith(("backbone.gcn.", "cls_head.fc_cls")) for k in state)
    model = api.build_model(test_name, progress=False)
    assert_logits(model, io)


def test_missing_and_extra_keys_are_named(stgcn_pyskl_reference):
    path, _ = stgcn_pyskl_reference("stgcn_pyskl_ntu60")
    state = load_state_dict_file(path)
    # converter level: a block without its graph unit, a foreign key, a CTR-GCN checkpoint
    no_graph = {k: v for k, v in state.items() if not k.startswith("backbone.gcn.3.gcn.")}
    with pytest.raises(KeyError, match=r"missing .*backbone\.layers\.3\.gcn\.A.*block 3"):
        convert_stgcn_pyskl(no_graph)
    with pytest.raises(KeyError, match=r"unexpected key 'backbone\.gcn\.0\.gcn\.alpha'"):
        convert_stgcn_pyskl({**state, "backbone.gcn.0.gcn.alpha": torch.zeros(1)})
    with pytest.raises(KeyError, match=r"unexpected key 'backbone\.net\.0\.gcn1\.A'"):
        convert_stgcn_pyskl({**state, "backbone.net.0.gcn1.A": torch.zeros(1)})
    no_head = {k: v for k, v in state.items() if not k.startswith("cls_head.")}
    with pytest.raises(KeyError, match=r"missing the weights for 'cls_head\.fc\.weight'"):
        convert_stgcn_pyskl(no_head)
    both = {**state, "cls_head.fc.weight": state["cls_head.fc_cls.weight"]}
    with pytest.raises(KeyError, match="both cls_head.fc and cls_head.fc_cls"):
        convert_stgcn_pyskl(both)
    # model level (strict loading): a missing temporal conv, an extra block
    model = recognizer(*CASES["stgcn_pyskl_ntu60"])
    missing = convert_stgcn_pyskl(
        {k: v for k, v in state.items() if k != "backbone.gcn.6.tcn.conv.weight"})
    with pytest.raises(KeyError, match=r"1 missing .*backbone\.layers\.6\.tcn\.conv\.weight"):
        api.load_weights(model, missing, source="ckpt.pth")
    extra = dict(state)
    extra.update({k.replace("backbone.gcn.9.", "backbone.gcn.10."): v
                  for k, v in state.items() if k.startswith("backbone.gcn.9.")})
    with pytest.raises(KeyError, match=r"unexpected .*backbone\.layers\.10\."):
        api.load_weights(model, convert_stgcn_pyskl(extra), source="ckpt.pth")


def test_bad_options_and_inputs_are_refused():
    with pytest.raises(ValueError, match="adaptive mode 'learned'"):
        PysklSTGCN(gcn_adaptive="learned")
    with pytest.raises(ValueError, match="tcn_type 'tcn'"):
        PysklSTGCN(tcn_type="tcn")
    with pytest.raises(ValueError, match="data_bn_type 'NVC'"):
        PysklSTGCN(data_bn_type="NVC")
    model = PysklSTGCN(graph_cfg=dict(layout="coco17", mode="stgcn_spatial"), base_channels=8,
                       data_bn_type="MVC", num_person=2)
    with pytest.raises(ValueError, match="V=17 joints .*got V=25"):
        model(torch.zeros(1, 2, 8, 25, 3))
    with pytest.raises(ValueError, match="M=2 persons, got M=1"):
        model(torch.zeros(1, 1, 8, 17, 3))


def test_stage_layout_and_shapes():
    model = PysklSTGCN()  # PYSKL defaults: 10 blocks, inflate/down at stages 5 and 8
    widths = [layer.gcn.bn.num_features for layer in model.layers]
    assert widths == [64] * 4 + [128] * 3 + [256] * 3
    assert model.layers[0].residual is None and isinstance(model.layers[1].residual,
                                                           torch.nn.Identity)
    assert [layer.tcn.conv.stride[0] for layer in model.layers] == [1] * 4 + [2, 1, 1, 2, 1, 1]
    # in_channels == base_channels: no stage-1 block, as upstream (num_stages - 1 blocks)
    assert len(PysklSTGCN(in_channels=64).layers) == 9
    out = PysklSTGCN(graph_cfg=dict(layout="kinect20", mode="stgcn_spatial"),
                     base_channels=8)(torch.randn(2, 2, 12, 20, 3))
    assert out.shape == (2, 2, 32, 3, 20)
