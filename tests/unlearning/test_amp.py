"""bf16 unlearning (``run_unlearner(amp=True)``, ``tools/unlearn.py --amp``): the forward
passes run in bf16, the gradients of the fp32 layers stay fp32, and the result stays close to
the fp32 run on the real digits task (issue 21)."""
import copy
import importlib.util
from pathlib import Path

import torch
import torch.nn.functional as F

from zoo.engine.amp import bf16_forward
from zoo.unlearning.api import run_unlearner
from zoo.unlearning.requests import ForgetRequest

REPO = Path(__file__).resolve().parents[2]


def test_bf16_forward_keeps_backward_out_of_autocast(trained):
    """The head is an fp32 layer of bf16_autocast: under bf16_forward its weight gradient is
    exactly the fp32 one (a backward inside autocast computes it with bf16 products), while
    the backbone's output is bf16."""
    model = copy.deepcopy(trained[0])
    x = trained[1].test_eval.inputs[:32]
    y = trained[1].test_eval.labels[:32]
    feats = model.extract_feat(x).detach()
    ref = torch.autograd.grad(F.cross_entropy(model.cls_head(feats), y),
                              model.cls_head.fc.weight)[0]
    seen = []
    model.backbone.register_forward_hook(lambda m, a, out: seen.append(out.dtype))
    with bf16_forward(model):
        bf16_feats = model.extract_feat(x)
        got = torch.autograd.grad(F.cross_entropy(model.cls_head(feats), y),
                                  model.cls_head.fc.weight)[0]
    assert seen == [torch.bfloat16]
    assert (bf16_feats.float() - feats).abs().max() > 0  # the backbone did run in bf16
    torch.testing.assert_close(got, ref, rtol=0, atol=0)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # what bf16_forward avoids
        naive = torch.autograd.grad(F.cross_entropy(model.cls_head(feats), y),
                                    model.cls_head.fc.weight)[0]
    assert not torch.equal(naive, ref)
    model(x)  # hooks gone after the context
    assert seen[-1] == torch.float32


def test_amp_unlearning_runs_in_bf16_and_matches_fp32(trained):
    model, ctx, _ = trained
    cfg = dict(type="NegGradPlus", epochs=2)
    request = [ForgetRequest(classes=[3])]
    fp32, _ = run_unlearner(model, ctx, cfg, request)
    seen = set()
    probe = model.backbone.register_forward_hook(
        lambda m, a, out: seen.add((out.dtype, m.training)))
    try:  # the hook travels with the unlearner's deep copy
        bf16, edited = run_unlearner(model, ctx, cfg, request, amp=True)
    finally:
        probe.remove()
    assert seen == {(torch.bfloat16, True), (torch.bfloat16, False)}, seen
    assert all(p.dtype == torch.float32 for p in edited.parameters())
    for key in ("forget_acc", "retain_acc", "test_acc"):
        print(key, fp32[key], bf16[key])
        assert abs(fp32[key] - bf16[key]) <= 3.0, (key, fp32[key], bf16[key])
    assert bf16["forget_acc"] < 50.0 < bf16["retain_acc"]  # it forgot, and kept the rest


def test_unlearn_tool_amp_flag(trained, tmp_path):
    _, _, ckpt = trained
    spec = importlib.util.spec_from_file_location("unlearn_tool", REPO / "tools/unlearn.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    common = ["configs/image/smallcnn_digits.py", "--checkpoint", str(ckpt),
              "--forget-classes", "3", "--unlearner", "NegGradPlus",
              "--unlearner-options", "epochs=1"]
    fp32 = tool.main([*common, "--out", str(tmp_path / "fp32")])
    bf16 = tool.main([*common, "--amp", "--out", str(tmp_path / "bf16")])
    assert bf16["amp"] is True and fp32["amp"] is False
    for row in ("original", "metrics"):
        for key in ("forget_acc", "retain_acc", "test_acc"):
            assert abs(fp32[row][key] - bf16[row][key]) <= 3.0, (row, key)
    # the original model evaluated in bf16 is not bit-identical to fp32 (bf16 did run)
    assert fp32["original"] != bf16["original"] or fp32["metrics"] != bf16["metrics"]


def test_bf16_forward_unwinds_after_an_error():
    class Boom(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = torch.nn.Sequential(torch.nn.Linear(16, 16), Boom())
            self.cls_head = torch.nn.Linear(16, 2)

    net = Net()
    with bf16_forward(net):
        try:
            net.backbone(torch.randn(2, 16))
        except RuntimeError:
            pass
        assert not torch.is_autocast_enabled("cpu")  # the failed child's autocast is closed
        assert net.cls_head(torch.randn(2, 16)).dtype == torch.float32  # an fp32 island
        assert net.backbone[0](torch.randn(2, 16)).dtype == torch.float32  # not a child
    assert not torch.is_autocast_enabled("cpu")
