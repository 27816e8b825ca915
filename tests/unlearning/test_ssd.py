import copy

import torch
from torch import nn

from zoo.unlearning.requests import ForgetRequest
from zoo.unlearning.ssd import SSD, dampen


def test_dampen_hand_computed():
    layer = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    full = {"weight": torch.tensor([[1.0, 1.0], [1.0, 0.5]])}
    forget = {"weight": torch.tensor([[5.0, 20.0], [0.5, 4.0]])}
    # alpha 4: selected where forget > 4 * full -> (0,0) 5>4, (0,1) 20>4, (1,1) 4>2
    masks = dampen(layer, full, forget, alpha=4.0, lam=2.0)
    assert masks["weight"].tolist() == [[True, True], [False, True]]
    # factors min(2 * full / forget, 1): 0.4, 0.1, (unselected) 1, 0.25
    expected = torch.tensor([[1.0 * 0.4, 2.0 * 0.1], [3.0, 4.0 * 0.25]])
    assert torch.allclose(layer.weight, expected)


def test_ssd_dampens_exactly_the_selected_parameters(model_ctx):
    model, ctx = model_ctx
    ctx.apply_request(ForgetRequest(classes=[3]))
    before = copy.deepcopy(model.state_dict())
    ssd = SSD(alpha=10.0, lam=1.0)
    recorded = {}
    import zoo.unlearning.ssd as ssd_module

    real = ssd_module.dampen

    def spy(model_, full, forget, alpha, lam):
        recorded.update(full=full, forget=forget)
        return real(model_, full, forget, alpha, lam)

    ssd_module.dampen = spy
    try:
        ssd.unlearn(model, ctx)
    finally:
        ssd_module.dampen = real
    after = model.state_dict()
    selected = 0
    for name, _ in model.named_parameters():
        full, forget = recorded["full"][name], recorded["forget"][name]
        mask = forget > 10.0 * full
        factor = torch.where(mask, (full / forget).clamp(max=1.0), torch.ones_like(full))
        assert torch.allclose(after[name], before[name] * factor)
        assert torch.equal(after[name][~mask], before[name][~mask])
        selected += int(mask.sum())
    assert selected == ssd.config()["dampened_parameters"] > 0
    # buffers (BatchNorm running stats) are untouched: SSD only dampens parameters
    for name, value in before.items():
        if "running" in name:
            assert torch.equal(after[name], value)
