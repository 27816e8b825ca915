"""tools/deploy/export.py: ONNX files that onnxruntime runs to PyTorch's logits."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from zoo.deploy.onnx_export import export_onnx, onnxruntime_logits
from zoo.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
SYNTHETIC = str(REPO / "configs/skeleton/stgcn_synthetic.py")


def load_tool():
    spec = importlib.util.spec_from_file_location("tool_export",
                                                  REPO / "tools/deploy/export.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_export_tool_writes_an_onnx_file_that_matches_pytorch(tmp_path):
    init_default_scope("zoo")
    from mmengine.config import Config

    cfg = Config.fromfile(SYNTHETIC)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.train()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        model(torch.randn(8, 1, 1, 32, 25, 3) * 3)
    ckpt = tmp_path / "stgcn.pth"
    torch.save({"state_dict": model.state_dict()}, ckpt)
    report = load_tool().main([SYNTHETIC, str(ckpt), "--format", "onnx"])
    out = tmp_path / "stgcn.onnx"
    assert report.path == str(out) and out.is_file()
    assert report.fused_pairs > 0
    # the input shape came from the config's test set: 5 clips of 32 frames, 1 person
    x = torch.randn(3, 5, 1, 32, 25, 3)  # another batch size than the export's example
    with torch.no_grad():
        ref = model.eval()(x).numpy()
    got = onnxruntime_logits(out, x.numpy())
    assert got.shape == ref.shape == (3, 10)
    assert np.abs(got - ref).max() <= 1e-4 * np.abs(ref).max()


@pytest.mark.parametrize("backbone", [
    dict(type="CTRGCN", graph_cfg=dict(layout="kinect20", mode="spatial"), base_channels=16,
         num_stages=3, inflate_stages=(3,), down_stages=(3,), num_person=1),
    dict(type="SkateFormer", layout="kinect20", num_persons=1, embed_dim=32, channels=(32, 32),
         depths=(1, 1), num_heads=16, type_sizes=((4, 4), (4, 5), (4, 4), (4, 5)),
         num_frames=32),
    dict(type="PysklSTGCN", graph_cfg=dict(layout="kinect20", mode="stgcn_spatial"),
         base_channels=16, num_stages=3, inflate_stages=(3,), down_stages=(3,), num_person=1,
         gcn_adaptive="init", gcn_conv_pos="post", gcn_with_res=True),
])
def test_export_other_backbones(tmp_path, backbone):
    init_default_scope("zoo")
    torch.manual_seed(0)
    model = MODELS.build(dict(type="SkeletonRecognizer", backbone=backbone,
                              cls_head=dict(type="GCNHead", in_channels=32, num_classes=20)))
    report = export_onnx(model, torch.randn(2, 1, 1, 32, 20, 3), tmp_path / "m.onnx")
    assert report.relative_diff <= 1e-4
    x = torch.randn(3, 1, 1, 32, 20, 3)  # another batch size
    with torch.no_grad():
        ref = model(x).numpy()
    got = onnxruntime_logits(tmp_path / "m.onnx", x.numpy())
    assert np.abs(got - ref).max() <= 1e-4 * np.abs(ref).max()
    if backbone["type"] != "SkateFormer":  # the GCNs' aggregations export as matrix products
        import onnx

        ops = {node.op_type for node in onnx.load(str(tmp_path / "m.onnx")).graph.node}
        assert "Einsum" not in ops and "MatMul" in ops


def test_export_check_catches_a_wrong_graph(tmp_path, monkeypatch):
    """The onnxruntime comparison is a real check: a file whose logits differ fails it."""
    import zoo.deploy.onnx_export as onnx_export

    init_default_scope("zoo")
    model = MODELS.build(dict(type="SkeletonRecognizer", backbone=dict(
        type="STGCN", graph_cfg=dict(layout="kinect20", mode="stgcn_spatial"), base_channels=8,
        num_stages=2, inflate_stages=(), down_stages=()),
        cls_head=dict(type="GCNHead", in_channels=8, num_classes=5)))
    real = onnx_export.onnxruntime_logits
    monkeypatch.setattr(onnx_export, "onnxruntime_logits",
                        lambda path, x: real(path, x) * 1.01)
    with pytest.raises(RuntimeError, match="differ from PyTorch"):
        export_onnx(model, torch.randn(1, 1, 1, 16, 20, 3), tmp_path / "m.onnx")


def test_export_tool_names_a_checkpoint_that_does_not_fit(tmp_path):
    torch.save({"state_dict": {"backbone.nothing": torch.zeros(1)}}, tmp_path / "bad.pth")
    with pytest.raises(Exception, match="backbone.nothing|[Mm]issing|[Uu]nexpected"):
        load_tool().main([SYNTHETIC, str(tmp_path / "bad.pth")])


@pytest.mark.slow  # reading MSR Action3D and training the shared model: minutes here
def test_msr_onnx_agrees_with_pytorch(msr_trained, tmp_path):
    model, inputs, _ = msr_trained
    export_onnx(model, inputs[:2], tmp_path / "msr.onnx")
    with torch.no_grad():
        ref = model(inputs).numpy()
    got = onnxruntime_logits(tmp_path / "msr.onnx", inputs.numpy())
    assert np.abs(got - ref).max() <= 1e-4 * np.abs(ref).max()
    assert (got.argmax(1) == ref.argmax(1)).mean() >= 0.995
