"""The four-stream index entries (j / b / jm / bm of ST-GCN, STGCN++ and CTR-GCN; NTU-60 and
NTU-120; 3-D and HRNet 2-D) point at the upstream files, carry the hash the source publishes,
build from a ready config with the published size, and (STGCN++) reproduce the official
network's logits through the converter. ST-GCN / CTR-GCN stream entries are also loaded
strictly in tests/skeleton/test_zoo_configs.py."""
from __future__ import annotations

import re
from collections import defaultdict

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from zoo.analysis.complexity import count_params
from zoo.converters import convert_stgcn_pyskl
from zoo.hub.api import _find_config, build_model, load_weights
from zoo.hub.download import hash_from_filename
from zoo.hub.index import MODEL_INDEX

init_default_scope("zoo")
STREAM_ENTRIES = sorted(e.name for e in MODEL_INDEX.values() if e.stream is not None)
# parameters as mmaction2's metafile.yml states them (STGCN 3.1M, STGCN++ 1.39M 2-D / 1.4M 3-D)
PUBLISHED_PARAMS = {("stgcn", "2d"): 3.1e6, ("stgcn", "3d"): 3.1e6,
                    ("stgcnpp", "2d"): 1.39e6, ("stgcnpp", "3d"): 1.40e6}


def test_the_upstream_tables_are_all_there():
    assert len(STREAM_ENTRIES) == 45
    by_model = defaultdict(set)
    for name in STREAM_ENTRIES:
        arch, ds, _, *rest = name.split("_")
        by_model[arch, ds, "hrnet2d" in rest, rest[-1]].add(MODEL_INDEX[name].stream)
    for key, streams in by_model.items():  # every model/dataset/source has its other streams
        assert streams >= {"b", "jm", "bm"}, key


@pytest.mark.parametrize("name", STREAM_ENTRIES)
def test_entry_url_hash_config_and_stream(name):
    entry = MODEL_INDEX[name]
    url = entry.urls[0]
    if name.endswith("_mmaction2"):
        token = {"j": "joint", "b": "bone", "jm": "joint-motion", "bm": "bone-motion"}
        dim = "2d" if "hrnet2d" in name else "3d"
        arch = name.split("_")[0]
        assert re.fullmatch(
            rf"https://download\.openmmlab\.com/mmaction/v1\.0/skeleton/{arch}/"
            rf"{arch}_8xb16-{token[entry.stream]}-u100-80e_ntu{entry.num_classes}-xsub-"
            rf"keypoint-{dim}/\S+_\d{{8}}-[0-9a-f]{{8}}\.pth", url), url
        assert entry.sha256 == hash_from_filename(url) and len(entry.sha256) == 8
    else:
        assert name.endswith("_pyskl")
        assert re.fullmatch(r"http://download\.openmmlab\.com/mmaction/pyskl/ckpt/"
                            r"(stgcn\+\+|ctrgcn)/\S+_(3dkp|hrnet)/(j|b|jm|bm)\.pth", url), url
        assert url.endswith(f"/{entry.stream}.pth")
        assert entry.sha256 is None and "publishes no hash" in entry.notes
    two_d = "hrnet2d" in name
    assert two_d == ("2-D" in entry.dataset) == bool(re.search(r"keypoint-2d|_hrnet/", url))
    config = Config.fromfile(str(_find_config(entry.config)))
    assert config.model.cls_head.num_classes == entry.num_classes
    layout = config.model.backbone.graph_cfg.layout
    assert layout == ("coco17" if "hrnet2d" in name else "ntu25_pyskl")  # PYSKL 'nturgb+d'
    pipeline = config.get("test_dataloader", {}).get("dataset", {}).get("pipeline")
    if pipeline:  # 3-D configs: the test pipeline makes the entry's stream
        (feat,) = [step for step in pipeline if step["type"] == "GenSkeFeat"]
        assert feat["feats"] == [entry.stream]


@pytest.mark.parametrize("key", sorted(PUBLISHED_PARAMS))
def test_built_models_have_the_published_size(key):
    arch, dim = key
    name = next(n for n in STREAM_ENTRIES if n.startswith(arch + "_")
                and ("hrnet2d" in n) == (dim == "2d") and "ntu60" in n)
    model = build_model(name, pretrained=False)
    assert count_params(model) == pytest.approx(PUBLISHED_PARAMS[key], rel=0.01)


@pytest.mark.parametrize("name", sorted(n for n in STREAM_ENTRIES if n.startswith("stgcnpp_")))
def test_stgcnpp_entry_with_the_official_stgcnpp_weights_gives_the_official_logits(
        name, stgcn_pyskl_reference):
    """The STGCN++ fixture (official PYSKL STGCN with STGCN++ options, random weights, small
    width) through the entry's config (only width, graph, data BN, persons and classes set to the
    fixture's) and the entry's converter: the official logits."""
    entry = MODEL_INDEX[name]
    path, io = stgcn_pyskl_reference("stgcnpp_pyskl_options")
    state = torch.load(path, weights_only=True)["state_dict"]
    if name.endswith("_mmaction2"):  # MMAction2's GCNHead is cls_head.fc
        state = {k.replace("cls_head.fc_cls.", "cls_head.fc."): v for k, v in state.items()}
    model = build_model(name, pretrained=False, num_classes=7, cfg_options={
        "model.backbone.base_channels": 8, "model.backbone.data_bn_type": "MVC",
        "model.backbone.num_person": 2, "model.backbone.graph_cfg.layout": "coco17",
        "model.cls_head.in_channels": 32})
    assert entry.converter == "convert_stgcn_pyskl"
    report = load_weights(model, convert_stgcn_pyskl(state), strict=True)
    assert report["reinitialised"] == [] and report["unexpected"] == []
    model.eval()
    with torch.no_grad():
        logits = model(io["inputs"])
    scale = io["logits"].abs().max()
    torch.testing.assert_close(logits / scale, io["logits"] / scale, atol=1e-4, rtol=0)
