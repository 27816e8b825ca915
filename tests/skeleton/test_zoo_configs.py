"""Every skeleton config named by the pretrained index builds, and its converter's output of a
state dict with the upstream names and shapes loads into it with ``strict=True``.

The upstream state dicts are the official reference fixtures (../shared/reference), renamed
into PYSKL's layout for the PYSKL converter, with the tensors whose shape depends on the
checkpoint (joints V, persons M, channels C, classes K) replaced by tensors of the shape the
upstream code would create for that checkpoint (written out below from the upstream
constructors, not read off the zoo model).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from mmengine.registry import init_default_scope

from zoo import converters
from zoo.hub.api import build_model
from zoo.hub.index import MODEL_INDEX, SKELETON

init_default_scope("zoo")
REPO = Path(__file__).resolve().parents[2]

# entry -> (reference fixture, V joints, M persons, C channels, K classes)
UPSTREAM = {
    "stgcn_ntu60_xsub_joint_official": ("stgcn_official_ntu60", 25, 2, 3, 60),
    "stgcn_ntu60_xview_joint_official": ("stgcn_official_ntu60", 25, 2, 3, 60),
    "stgcn_kinetics_joint_official": ("stgcn_official_ntu60", 18, 2, 3, 400),
    "ctrgcn_ntu60_xsub_joint": ("ctrgcn_official_ntu60", 25, 2, 3, 60),
    "ctrgcn_ntu60_xsub_hrnet2d_joint": ("ctrgcn_official_ntu60", 17, 2, 3, 60),
    "ctrgcn_ntu60_xsub_joint_pyskl": ("ctrgcn_official_ntu60", 25, 2, 3, 60),
    "ctrgcn_ntu120_xsub_joint_official": ("ctrgcn_official_ntu60", 25, 2, 3, 120),
    "skateformer_ntu60_xsub_joint": ("skateformer_official_ntu60", 25, 2, 3, 60),
    "skateformer_ntu120_xsub_joint": ("skateformer_official_ntu60", 25, 2, 3, 120),
    "skateformer_nwucla_joint": ("skateformer_official_ucla", 20, 1, 3, 10),
    # PYSKL / MMAction2 ST-GCN: the repository's own fixtures (tests/skeleton/fixtures)
    "stgcn_ntu60_xsub_joint_mmaction2": ("stgcn_pyskl_ntu60", 25, 2, 3, 60),
    "stgcn_ntu60_xsub_hrnet2d_joint_mmaction2": ("stgcn_mmaction2_coco", 17, 2, 3, 60),
    "stgcn_ntu60_xsub_joint_pyskl": ("stgcn_pyskl_ntu60", 25, 2, 3, 60),
}
# The four-stream entries (bone / motion streams, NTU-120, HRNet 2-D) of ST-GCN and CTR-GCN: the
# same fixtures, with V and K of the entry. STGCN++ entries are checked against the STGCN++
# fixture in tests/skeleton/test_hub_streams.py.
for _entry in MODEL_INDEX.values():
    if _entry.stream is None or _entry.name.startswith("stgcnpp_"):
        continue
    _v = 17 if "hrnet2d" in _entry.name else 25
    if _entry.converter == "convert_stgcn_pyskl":
        UPSTREAM.setdefault(_entry.name, ("stgcn_mmaction2_coco" if _v == 17 else
                                          "stgcn_pyskl_ntu60", _v, 2, 3, _entry.num_classes))
    else:
        UPSTREAM.setdefault(_entry.name, ("ctrgcn_official_ntu60", _v, 2, 3, _entry.num_classes))
STGCNPP = {e.name for e in MODEL_INDEX.values() if e.name.startswith("stgcnpp_")}
CONFIGURED = sorted(e.name for e in MODEL_INDEX.values() if e.task == SKELETON and e.config
                    and e.name not in STGCNPP)


def upstream_shape(converter: str, key: str, shape: torch.Size, v: int, m: int, c: int,
                   k: int) -> tuple[int, ...]:
    """Shape of ``key`` in an upstream checkpoint for V joints, M persons, C channels and K
    classes (from the upstream constructors); other keys keep the fixture's shape."""
    stat = not key.endswith("num_batches_tracked")
    if converter == "convert_stgcn_official":  # yysijie/st-gcn net/st_gcn.py
        if key == "A" or key.startswith("edge_importance."):
            return (3, v, v)
        if key.startswith("data_bn.") and stat:
            return (c * v,)  # BatchNorm1d(in_channels * A.size(1))
        if key == "fcn.weight":
            return (k, shape[1], 1, 1)
        if key == "fcn.bias":
            return (k,)
    elif converter.startswith("convert_ctrgcn"):  # CTR-GCN model/ctrgcn.py, PYSKL ctrgcn.py
        if key.endswith(("gcn1.PA", "gcn1.A")) or key == "backbone.A":
            return (3, v, v)
        if "data_bn." in key and stat:
            return (m * c * v,)  # BatchNorm1d(num_person * in_channels * num_point)
        if re.search(r"(^|\.)fc(_cls)?\.weight$", key):
            return (k, shape[1])
        if re.search(r"(^|\.)fc(_cls)?\.bias$", key):
            return (k,)
    elif converter == "convert_stgcn_pyskl":  # the fixture fixes V, M and C; K follows
        if re.search(r"^cls_head\.fc(_cls)?\.weight$", key):
            return (k, shape[1])
        if re.search(r"^cls_head\.fc(_cls)?\.bias$", key):
            return (k,)
    elif converter == "convert_skateformer_official":  # the fixture fixes V and M
        if key == "head.weight":
            return (k, shape[1])
        if key == "head.bias":
            return (k,)
    return tuple(shape)


def to_pyskl_names(official: dict, head: str) -> dict:
    """Official CTR-GCN names -> PYSKL / MMAction2 names (``backbone.net.i``, ``gcn1.A``,
    ``backbone.A``, ``cls_head.<head>``)."""
    out = {"backbone.A": official["l1.gcn1.PA"]}
    for key, value in official.items():
        if key.startswith("data_bn."):
            out["backbone." + key] = value
        elif key.startswith("fc."):
            out[f"cls_head.{head}.{key[3:]}"] = value
        else:
            block, rest = key.split(".", 1)
            out[f"backbone.net.{int(block[1:]) - 1}.{'gcn1.A' if rest == 'gcn1.PA' else rest}"] \
                = value
    return out


def upstream_state_dict(reference_dir: Path, name: str, stgcn_pyskl_reference=None) -> dict:
    entry = MODEL_INDEX[name]
    fixture, v, m, c, k = UPSTREAM[name]
    if entry.converter == "convert_stgcn_pyskl":  # PYSKL head fc_cls, MMAction2 head fc
        path, _ = stgcn_pyskl_reference(fixture)
        head = "fc_cls" if "pyskl" in entry.source else "fc"
        state = {re.sub(r"^cls_head\.fc(_cls)?\.", f"cls_head.{head}.", key): value for key, value
                 in torch.load(path, weights_only=True)["state_dict"].items()}
    else:
        state = torch.load(reference_dir / f"{fixture}.pt", weights_only=True)["state_dict"]
    if entry.converter == "convert_ctrgcn_pyskl":
        # PYSKL's own head is cls_head.fc_cls; MMAction2's GCNHead is cls_head.fc
        state = to_pyskl_names(state, "fc_cls" if "pyskl" in entry.source else "fc")
    generator = torch.Generator().manual_seed(0)
    out = {}
    for key, value in state.items():
        shape = upstream_shape(entry.converter, key, value.shape, v, m, c, k)
        out[key] = value if tuple(value.shape) == shape else torch.randn(shape,
                                                                          generator=generator)
    return out


def test_every_skeleton_entry_is_covered():
    assert set(CONFIGURED) == set(UPSTREAM) and STGCNPP
    for name in CONFIGURED:
        assert (REPO / MODEL_INDEX[name].config).is_file(), MODEL_INDEX[name].config


@pytest.mark.parametrize("name", CONFIGURED)
def test_config_builds_and_converted_upstream_weights_load_strictly(reference_dir, name,
                                                                   stgcn_pyskl_reference):
    entry = MODEL_INDEX[name]
    model = build_model(name, pretrained=False)
    assert model.num_classes == entry.num_classes
    state = upstream_state_dict(reference_dir, name, stgcn_pyskl_reference)
    converted = getattr(converters, entry.converter)(state)
    model.load_state_dict(converted, strict=True)
    assert torch.equal(model.cls_head.fc.bias, converted["cls_head.fc.bias"])
