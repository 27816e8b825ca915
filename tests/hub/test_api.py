"""Building models from index entries, ``zoo://`` through mmengine, converters, the real index."""
from __future__ import annotations

import io
import logging
import re

import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from shared_data import assert_close_to_scale

from zoo.hub import api, index
from zoo.hub.download import hash_from_filename, normalise_hash
from zoo.registry import MODELS

from .helpers import sha256

TINY_STGCN_CONFIG = """
default_scope = "zoo"
model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="STGCN", graph_cfg=dict(layout="ntu25", mode="stgcn_spatial"),
                  base_channels=8, num_stages=3, inflate_stages=(3,), down_stages=(3,)),
    cls_head=dict(type="GCNHead", in_channels=16, num_classes=6),
)
"""

OFFICIAL_STGCN_CONFIG = """
default_scope = "zoo"
model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="STGCN", graph_cfg=dict(layout="ntu25", mode="stgcn_spatial")),
    cls_head=dict(type="GCNHead", in_channels=256, num_classes=60),
)
"""


def to_official_layout(state: dict) -> dict:
    """The zoo's ST-GCN keys written back in yysijie/st-gcn's names (fcn is a 1x1 conv)."""
    out = {}
    for key, value in state.items():
        if key.startswith("cls_head.fc."):
            name = "fcn." + key[len("cls_head.fc."):]
            out[name] = value[:, :, None, None] if name.endswith("weight") else value
        elif key.startswith("backbone.layers."):
            out["st_gcn_networks." + key[len("backbone.layers."):]] = value
        else:
            out[key[len("backbone."):]] = value
    return out


def build_from(config_file, seed: int):
    from mmengine.config import Config

    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope("zoo"):
        return MODELS.build(Config.fromfile(str(config_file)).model)


def serve_checkpoint(server, path: str, obj) -> tuple[str, str]:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    data = buffer.getvalue()
    return server.add(path, data), sha256(data)


@pytest.fixture
def official_stgcn_entry(cache, server, add_entry, tmp_path):
    """A tiny ST-GCN published in the official layout, with the zoo config that fits it."""
    config = tmp_path / "tiny_stgcn.py"
    config.write_text(TINY_STGCN_CONFIG)
    reference = build_from(config, seed=1)
    with torch.no_grad():  # BatchNorm statistics that a wrong mapping would show
        for name, buf in reference.named_buffers():
            if "running" in name:
                buf.uniform_(0.5, 1.5)
    url, digest = serve_checkpoint(server, "/official/tiny.pt",
                                   to_official_layout(reference.state_dict()))
    add_entry(name="t_stgcn", urls=(url,), sha256=digest, config=str(config),
              converter="convert_stgcn_official", num_classes=6)
    return reference, config


def assert_same_state(a: torch.nn.Module, b: torch.nn.Module, skip: str = "~") -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        if not key.startswith(skip):
            torch.testing.assert_close(sa[key], sb[key], rtol=0, atol=0, msg=key)


def test_zoo_scheme_through_mmengine_load_checkpoint(official_stgcn_entry):
    from mmengine.runner.checkpoint import load_checkpoint

    import zoo.hub.scheme  # noqa: F401  (registers zoo://)

    reference, config = official_stgcn_entry
    model = build_from(config, seed=2)
    checkpoint = load_checkpoint(model, "zoo://t_stgcn", strict=True)
    assert checkpoint["meta"] == {"zoo_entry": "t_stgcn"}
    assert_same_state(model, reference)


def test_build_model_loads_converted_weights(official_stgcn_entry):
    reference, _ = official_stgcn_entry
    model = api.build_model("t_stgcn")
    assert_same_state(model, reference)
    x = torch.randn(2, 1, 1, 12, 25, 3)
    model.eval(), reference.eval()
    torch.testing.assert_close(model(x), reference(x))


def test_fine_tuning_reinitialises_the_head_and_logs_the_dropped_keys(official_stgcn_entry):
    reference, _ = official_stgcn_entry
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_instance("hub_test_finetune")
    logger.addHandler(handler)
    try:
        model = api.build_model("t_stgcn", num_classes=3)
    finally:
        logger.removeHandler(handler)
    assert model.cls_head.fc.weight.shape == (3, 16)
    backbone = {k: v for k, v in reference.state_dict().items() if not k.startswith("cls_head.")}
    for key, value in backbone.items():
        torch.testing.assert_close(model.state_dict()[key], value, rtol=0, atol=0)
    messages = " ".join(r.getMessage() for r in records)
    assert "cls_head.fc.weight (6, 16) -> model (3, 16)" in messages
    assert "cls_head.fc.bias" in messages


def test_shape_mismatch_outside_the_head_is_an_error(official_stgcn_entry, tmp_path):
    wider = tmp_path / "wider.py"
    wider.write_text(TINY_STGCN_CONFIG.replace("base_channels=8", "base_channels=4")
                     .replace("in_channels=16", "in_channels=8"))
    with pytest.raises(ValueError, match=r"backbone\.layers\.0\.gcn\.conv\.weight has shape"):
        api.build_model("t_stgcn", config=str(wider))


def test_missing_converter_and_missing_config_are_explained(cache, server, add_entry, tmp_path):
    url, digest = serve_checkpoint(server, "/raw.pth", {"gcn.0.w": torch.zeros(2)})
    add_entry(name="t_noconv", urls=(url,), sha256=digest, converter="convert_does_not_exist",
              config="configs/skeleton/does_not_exist.py")
    with pytest.raises(api.ConverterUnavailableError, match="convert=False"):
        api.load_pretrained("t_noconv")
    assert list(api.load_pretrained("t_noconv", convert=False)) == ["gcn.0.w"]
    with pytest.raises(FileNotFoundError, match="does_not_exist.py of index entry 't_noconv'"):
        api.build_model("t_noconv")
    info = api.model_info("t_noconv")
    assert info["converter_available"] is False and info["config_found"] is False


def test_timm_entry_with_a_new_head(cache, server, add_entry):
    import timm

    torch.manual_seed(0)
    upstream = timm.create_model("test_resnet", pretrained=False)
    url, digest = serve_checkpoint(server, "/timm/test_resnet-x.pth", upstream.state_dict())
    add_entry(name="t_timm", urls=(url,), sha256=digest, arch="timm/test_resnet",
              num_classes=1000, head="fc")
    same = api.build_model("t_timm")
    assert_same_state(same, upstream)
    tuned = api.build_model("t_timm", num_classes=5)
    assert tuned.fc.weight.shape[0] == 5
    for key, value in upstream.state_dict().items():
        if not key.startswith("fc."):
            torch.testing.assert_close(tuned.state_dict()[key], value, rtol=0, atol=0)


def test_official_reference_weights_end_to_end(cache, server, add_entry, tmp_path,
                                               reference_dir):
    """The real official ST-GCN weights (yysijie/st-gcn layout) served, verified, converted
    and loaded through the hub reproduce the official logits."""
    ref = torch.load(reference_dir / "stgcn_official_ntu60.pt", weights_only=True)
    config = tmp_path / "stgcn_official_ntu60.py"
    config.write_text(OFFICIAL_STGCN_CONFIG)
    url, digest = serve_checkpoint(server, "/st_gcn.ntu-xsub.pt", dict(ref["state_dict"]))
    add_entry(name="t_stgcn_official", urls=(url,), sha256=digest[:8], config=str(config),
              converter="convert_stgcn_official", num_classes=60)
    model = api.build_model("t_stgcn_official").eval()
    (x,) = ref["inputs"]  # N C T V M
    with torch.no_grad():
        logits = model(x.permute(0, 4, 2, 3, 1))
    # as tests/foundation/test_stgcn.py: 2e-6 of the logits' scale (measured 3.7e-7)
    assert_close_to_scale(logits, ref["logits"], 2e-6)


# --- the shipped index ---------------------------------------------------------------------

KNOWN_CONVERTERS = {"convert_stgcn_official", "convert_ctrgcn_official", "convert_ctrgcn_pyskl",
                    "convert_skateformer_official", "convert_stgcn_pyskl"}


@pytest.mark.parametrize("entry", list(index.MODEL_INDEX.values()), ids=lambda e: e.name)
def test_index_entries_are_consistent(entry):
    assert re.fullmatch(r"[a-z0-9_]+", entry.name)
    assert all(u.startswith(("https://", "http://")) for u in entry.urls)
    if entry.sha256 is not None:
        assert normalise_hash(entry.sha256) == entry.sha256
    embedded = hash_from_filename(entry.urls[0])
    if embedded:  # the hash published in the file name is the one recorded
        assert entry.sha256 == embedded
    assert entry.converter is None or entry.converter in KNOWN_CONVERTERS
    assert entry.config is None or entry.config.startswith("configs/")
    assert entry.arch is None or entry.arch.startswith("timm/")
    assert entry.licence and entry.source and entry.notes
    assert entry.manual == ("drive.google.com" in entry.urls[0])


def test_list_models_and_info():
    assert "ctrgcn_ntu60_xsub_joint" in api.list_models()
    assert api.list_models("resnet*_in1k") == ["resnet18_tv_in1k", "resnet50_tv2_in1k",
                                               "resnet50_tv_in1k"]
    assert set(api.list_models("skateformer")) >= {"skateformer_ntu60_xsub_joint"}
    info = api.model_info("resnet50_tv_in1k")
    assert info["sha256"] == "0676ba61" and info["hash_status"].startswith("published")
    with pytest.raises(KeyError, match="did you mean ctrgcn_ntu60_xsub_joint"):
        api.model_info("ctrgcn_ntu60_xsub_jiont")


def test_top_level_api_is_lazy():
    import subprocess
    import sys

    code = ("import sys, zoo; assert 'torch' not in sys.modules; "
            "print(len(zoo.list_models())); assert 'torch' not in sys.modules")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == len(index.MODEL_INDEX)
