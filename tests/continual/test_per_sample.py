"""Per-sample gradients: the batched way (layer inputs x output gradients) equals vmap."""
import pytest
import torch
from torch import nn
from zoo.models.image import SmallCNN

import zoo.continual.strategies.per_sample as per_sample
from zoo.continual.strategies.ewc import EWC
from zoo.continual.strategies.ewc import per_sample_grads as flat_grads
from zoo.continual.strategies.importance import output_norm_sensitivity
from zoo.continual.strategies.per_sample import (
    nll_loss,
    per_sample_grads,
    squared_norm_loss,
)


class ConvNet(nn.Module):
    """SmallCNN (conv, BatchNorm, in-place ReLU, max pooling) + a strided conv + a head."""

    def __init__(self):
        super().__init__()
        self.backbone = SmallCNN(in_channels=2, channels=(8, 16))
        self.down = nn.Conv2d(16, 12, 3, stride=2, padding=1, dilation=1)
        self.head = nn.Linear(12, 5)

    def forward(self, x):
        return self.head(self.down(self.backbone(x)).mean((2, 3)))


class SeqNet(nn.Module):
    """Conv1d with stride / dilation, BatchNorm1d, a Linear on [N, T, C] and a layer used twice
    (its per-sample gradient is the sum over its calls)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(3, 6, 3, stride=2, padding=2, dilation=2)
        self.norm = nn.BatchNorm1d(6, eps=0.5)  # large: a formula without eps fails
        self.mix = nn.Linear(6, 6)
        self.head = nn.Linear(6, 4, bias=False)
        self.unused = nn.Linear(6, 6)  # never called: zero gradients

    def forward(self, x):
        h = torch.relu(self.norm(self.conv(x))).transpose(1, 2)  # [N, T, 6]
        h = self.mix(torch.tanh(self.mix(h)))
        return self.head(h.mean(1))


def _warm(model, x):
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(x + torch.randn_like(x))  # running statistics away from 0 / 1
    return model.eval()


def _assert_same(a, b, names):
    assert set(a) == set(b) == set(names)
    for name in names:
        assert a[name].shape == b[name].shape
        scale = b[name].abs().max().clamp_min(1e-12)
        assert ((a[name] - b[name]).abs().max() / scale) < 1e-5, name


@pytest.mark.parametrize("make, shape, classes", [(ConvNet, (7, 2, 8, 8), 5),
                                                  (SeqNet, (7, 3, 11), 4)])
@pytest.mark.parametrize("loss", ["nll", "squared norm"])
def test_batched_equals_vmap(make, shape, classes, loss):
    torch.manual_seed(0)
    x = torch.randn(*shape)
    model = _warm(make(), x)
    names = [n for n, _ in model.named_parameters()]
    y = torch.randint(0, classes, (shape[0],))
    fn, targets = (nll_loss, y) if loss == "nll" else (squared_norm_loss, None)
    assert per_sample._owners(model, names) is not None  # the batched way applies
    batched = per_sample_grads(model, names, x, targets, fn)
    reference = per_sample_grads(model, names, x, targets, fn, batched=False)
    _assert_same(batched, reference, names)
    if make is SeqNet:
        assert batched["unused.weight"].abs().max() == 0
    # and the sum over samples is the ordinary gradient of the summed loss
    model.zero_grad()
    fn(model(x), targets).sum().backward()
    for name, p in model.named_parameters():
        if p.grad is not None:
            torch.testing.assert_close(batched[name].sum(0), p.grad, rtol=1e-4, atol=1e-6)


def test_subset_of_parameters_and_channels_last():
    torch.manual_seed(1)
    x = torch.randn(5, 2, 8, 8)
    model = _warm(ConvNet(), x).to(memory_format=torch.channels_last)
    names = ["down.weight", "head.bias"]
    y = torch.randint(0, 5, (5,))
    _assert_same(per_sample_grads(model, names, x, y),
                 per_sample_grads(model, names, x, y, batched=False), names)


class InPlaceNet(nn.Module):
    """``fc2`` reads ``h``, which is then changed in place (allowed by autograd because
    ``fc2.weight`` is frozen, so ``h`` is not saved): its captured input is stale."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(4, 6), nn.Linear(6, 3), nn.Linear(6, 3)
        self.fc2.weight.requires_grad_(False)

    def forward(self, x):
        h = self.fc1(x)
        out = self.fc2(h)
        h.mul_(2.0)
        return out + self.fc3(h)


class CosineHead(nn.Module):
    """A cosine classifier reading ``head.weight`` outside ``head``'s forward (and ``head``
    itself never called): its per-sample gradients would be missed by the layer hooks."""

    def __init__(self):
        super().__init__()
        self.body, self.head = nn.Linear(4, 6), nn.Linear(6, 3)

    def forward(self, x):
        h = torch.nn.functional.normalize(torch.relu(self.body(x)), dim=1)
        return 5.0 * h @ torch.nn.functional.normalize(self.head.weight, dim=1).T


class SharedOutside(nn.Module):
    """``fc`` is called, and its weight is also used directly (tied output projection)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return torch.tanh(self.fc(x)) @ self.fc.weight[:3].T


@pytest.mark.parametrize("make", [CosineHead, SharedOutside])
def test_parameters_used_outside_their_layer_fall_back(make):
    torch.manual_seed(5)
    model, x, y = make(), torch.randn(5, 4), torch.randint(0, 3, (5,))
    names = [n for n, _ in model.named_parameters()]
    owners = per_sample._owners(model, names)
    assert owners is not None  # only known layers: the hooks alone would be fooled
    assert per_sample._batched_grads(model, owners, x, y, nll_loss) is None
    _assert_same(per_sample_grads(model, names, x, y),
                 per_sample_grads(model, names, x, y, batched=False), names)


@pytest.mark.parametrize("model, why", [
    (InPlaceNet(), "a layer's input is changed in place after the layer read it"),
    (ConvNet().train(), "train-mode BatchNorm mixes the samples of a batch"),
    (nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6), nn.Linear(6, 3)), "unknown layer"),
])
def test_falls_back_to_vmap(model, why, monkeypatch):
    x = torch.randn(4, 2, 8, 8) if isinstance(model, ConvNet) else torch.randn(4, 4)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    monkeypatch.setattr(per_sample, "_vmap_grads", lambda *args: "vmap")
    assert per_sample_grads(model, names, x, torch.randint(0, 3, (4,))) == "vmap", why


def test_stale_input_is_detected():
    """The batched rule would read ``h`` after ``mul_``: it gives up, and vmap answers."""
    model, x, y = InPlaceNet(), torch.randn(4, 4), torch.randint(0, 3, (4,))
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert per_sample._batched_grads(model, per_sample._owners(model, names), x, y,
                                     nll_loss) is None
    grads = per_sample_grads(model, names, x, y)
    with torch.no_grad():
        delta = torch.softmax(model(x), 1) - torch.nn.functional.one_hot(y, 3)
        h2 = 2 * model.fc1(x)
    torch.testing.assert_close(grads["fc2.bias"], delta)
    torch.testing.assert_close(grads["fc3.weight"], delta[:, :, None] * h2[:, None, :])


def test_ewc_fisher_and_mas_use_it():
    """EWC's flattened rows and MAS's importance agree with the vmap computation."""
    torch.manual_seed(4)
    x = torch.randn(6, 2, 8, 8)
    model = _warm(ConvNet(), x)
    names = [n for n, _ in model.named_parameters()]
    y = torch.randint(0, 5, (6,))
    rows = flat_grads(model, names, x, y)
    reference = per_sample_grads(model, names, x, y, batched=False)
    flat = torch.cat([reference[n].reshape(6, -1) for n in names], 1)
    torch.testing.assert_close(rows, flat, rtol=1e-4, atol=1e-7)
    omega = output_norm_sensitivity(model, x)
    ref = per_sample_grads(model, names, x, None, squared_norm_loss, batched=False)
    for n in names:
        torch.testing.assert_close(omega[n], ref[n].abs().mean(0), rtol=1e-4, atol=1e-7)
    # the diagonal Fisher the strategy stores is the mean of squared rows
    ewc = EWC(lambda_=1.0)
    ewc.consolidate(model, x, y)
    diag = torch.cat([ewc.fishers[0][n].flatten() for n in names])
    torch.testing.assert_close(diag, (flat ** 2).mean(0), rtol=1e-4, atol=1e-9)
