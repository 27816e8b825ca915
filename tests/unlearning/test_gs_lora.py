import copy

import torch
from torch import nn

from zoo.unlearning.gs_lora import GSLoRA, add_lora, group_soft_threshold, lora_groups, merge_lora
from zoo.unlearning.report import evaluate
from zoo.unlearning.requests import ForgetRequest


def test_group_soft_threshold_zeros_small_groups():
    a = [torch.tensor([3.0, 4.0])]  # norm 5
    b = [torch.tensor([0.3]), torch.tensor([0.4])]  # norm 0.5
    group_soft_threshold({"a": a, "b": b}, threshold=1.0)
    assert torch.allclose(a[0], torch.tensor([3.0, 4.0]) * (1 - 1 / 5))
    assert b[0].item() == 0.0 and b[1].item() == 0.0


def test_lora_starts_at_base_and_merges_exactly():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Conv2d(4, 3, 1))
    ref = copy.deepcopy(net)
    x = torch.randn(2, 2, 5, 5)
    add_lora(net, r"^\d", rank=2)
    assert torch.equal(net(x), ref(x))  # B = 0
    groups = lora_groups(net)
    assert len(groups) == 2
    with torch.no_grad():
        for _a, b in groups.values():
            b.normal_()
    delta = (groups["0"][1] @ groups["0"][0]).reshape(4, 2, 3, 3)
    merge_lora(net)
    assert torch.allclose(net[0].weight, ref[0].weight + delta, atol=1e-6)
    assert set(net.state_dict()) == set(ref.state_dict())


def test_gs_lora_keeps_base_weights_and_forgets(model_ctx):
    model, ctx = model_ctx
    original = copy.deepcopy(model.state_dict())
    ctx.apply_request(ForgetRequest(classes=[3]))
    gs = GSLoRA(epochs=2, merge=False)
    gs.unlearn(model, ctx)
    # the frozen base weights and every BN buffer are bit-identical after training
    for name, module in model.named_modules():
        if hasattr(module, "parametrizations"):
            assert torch.equal(module.parametrizations.weight.original,
                               original[f"{name}.weight"])
    for name, value in model.state_dict().items():
        if "lora_" not in name and "parametrizations" not in name:
            assert torch.equal(value, original[name]), name
    metrics = evaluate(model, ctx)
    assert metrics["forget_acc"] < 20.0 and metrics["retain_acc"] > 85.0


def test_gs_lora_group_sparsity_zeros_groups(model_ctx):
    model, ctx = model_ctx
    original = copy.deepcopy(model.state_dict())
    ctx.apply_request(ForgetRequest(classes=[3]))
    # a strong penalty: the proximal step zeros every adapter group, the model is unchanged
    gs = GSLoRA(epochs=1, lr=0.01, alpha=1000.0)
    gs.unlearn(model, ctx)
    assert gs.zero_groups[-1] == gs.num_groups == 3
    for name, value in model.state_dict().items():
        assert torch.allclose(value, original[name]), name
