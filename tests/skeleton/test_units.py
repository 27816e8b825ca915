"""The shared GCN stem and temporal units of models/skeleton/units.py."""
import pytest
import torch
from torch import nn
from zoo.models.skeleton import CTRGCN, STGCN, PysklSTGCN
from zoo.models.skeleton import stgcn as stgcn_module
from zoo.models.skeleton.units import (
    FastDropout,
    TemporalConv,
    TemporalMaxPool,
    TemporalUnit,
    aggregate_subsets,
    aggregate_subsets_channels_last,
    check_input,
    expand_subsets,
    fast_dropout,
    input_batchnorm,
    normalise_input,
    stage_widths,
    temporal_residual,
)


def test_stage_widths_are_the_papers_and_pyskls():
    assert stage_widths(64, 10, (5, 8)) == [64, 64, 64, 64, 128, 128, 128, 256, 256, 256]
    assert stage_widths(16, 4, (2, 4)) == [16, 32, 32, 64]
    # PYSKL's ch_ratio may be fractional; widths are truncated after a small epsilon
    assert stage_widths(64, 4, (3,), ratio=1.5) == [64, 64, 96, 96]


def test_input_batchnorm_sizes():
    assert isinstance(input_batchnorm(None, 3, 25), nn.Identity)
    assert input_batchnorm(False, 3, 25).num_features == 75
    assert input_batchnorm(True, 3, 25, num_person=2).num_features == 150


def test_normalise_input_is_the_per_joint_channel_batchnorm():
    torch.manual_seed(0)
    x = torch.randn(2, 2, 6, 5, 3) * 4 + 1  # N M T V C
    out = normalise_input(x, input_batchnorm(False, 3, 5), per_person=False)
    assert out.shape == (4, 3, 6, 5)
    # each (joint, channel) is standardised over N*M*T
    per = out.permute(0, 2, 3, 1).reshape(-1, 5, 3)
    torch.testing.assert_close(per.mean(0), torch.zeros(5, 3), atol=1e-5, rtol=0)
    mvc = normalise_input(x, input_batchnorm(True, 3, 5, 2), per_person=True)
    per_person = mvc.reshape(2, 2, 3, 6, 5).permute(0, 3, 1, 4, 2).reshape(-1, 2, 5, 3)
    torch.testing.assert_close(per_person.mean(0), torch.zeros(2, 5, 3), atol=1e-5, rtol=0)
    same = normalise_input(x, nn.Identity(), per_person=False)
    torch.testing.assert_close(same, x.permute(0, 1, 4, 2, 3).reshape(4, 3, 6, 5))


def test_check_input_names_model_layout_and_sizes():
    check_input(torch.zeros(1, 2, 4, 25, 3), "M", "ntu25", 25, 3, num_person=2)
    with pytest.raises(ValueError, match=r"M expects \[N, M, T, V, C\], got shape \(4, 25\)"):
        check_input(torch.zeros(4, 25), "M", "ntu25", 25, 3)
    with pytest.raises(ValueError, match=r"built for V=25 joints \(ntu25\) and C=3 channels "
                                         r"got V=20, C=3"):
        check_input(torch.zeros(1, 1, 4, 20, 3), "M", "ntu25", 25, 3)
    with pytest.raises(ValueError, match=r"built for M=2 persons, V=25 joints \(ntu25\) and "
                                         r"C=3 channels got M=1, V=25, C=3"):
        check_input(torch.zeros(1, 1, 4, 25, 3), "M", "ntu25", 25, 3, num_person=2)


def test_temporal_units_share_parameter_names():
    assert TemporalConv(4, 8, 5).state_dict().keys() == TemporalUnit(4, 8, 5).state_dict().keys()
    assert temporal_residual(4, 4, 1, residual=False) is None
    assert isinstance(temporal_residual(4, 4, 1, residual=True), nn.Identity)
    assert isinstance(temporal_residual(4, 8, 2, True, TemporalUnit), TemporalUnit)


@pytest.mark.parametrize("model, prefix", [
    (lambda: STGCN(base_channels=8, num_stages=3, inflate_stages=(3,), down_stages=(3,)), "ST-GCN"),
    (lambda: CTRGCN(base_channels=8, num_stages=3, inflate_stages=(3,), down_stages=(3,)),
     "CTR-GCN"),
    (lambda: PysklSTGCN(base_channels=8, num_stages=3, inflate_stages=(3,), down_stages=(3,)),
     "PysklSTGCN"),
])
def test_backbones_use_the_stem(model, prefix):
    net = model().eval()
    assert isinstance(net.data_bn, nn.BatchNorm1d)  # the stem's BN is the model's own data_bn
    assert [k for k in net.state_dict() if k.startswith("data_bn.")] == [
        "data_bn.weight", "data_bn.bias", "data_bn.running_mean", "data_bn.running_var",
        "data_bn.num_batches_tracked"]
    assert net(torch.randn(1, 2, 8, 25, 3)).shape[:3] == (1, 2, 16)
    with pytest.raises(ValueError, match=f"{prefix} built for"):
        net(torch.randn(1, 2, 8, 20, 3))


def test_fast_dropout_keep_rate_scale_and_gradient():
    """Each element kept with probability 1 - p (binomial 4-sigma band over 10^6 elements),
    kept values scaled by 1 / (1 - p), the gradient is the same mask and scale; bf16 inputs
    draw the mask in fp32 (no quantised threshold)."""
    torch.manual_seed(0)
    for p, dtype in ((0.5, torch.float32), (0.3, torch.float32), (0.1, torch.bfloat16)):
        x = torch.full((1000, 1000), 2.0, dtype=dtype, requires_grad=True)
        y = fast_dropout(x, p)
        kept = y != 0
        n = kept.numel()
        assert abs(kept.sum().item() - (1 - p) * n) < 4 * (n * p * (1 - p)) ** 0.5, (p, dtype)
        torch.testing.assert_close(y[kept], torch.full_like(y[kept], 2.0 / (1 - p)))
        y.sum().backward()
        torch.testing.assert_close(x.grad, kept.to(dtype) / (1 - p))
    # rates other than 0.5: u >= p from one uniform draw, times 1 / (1 - p), bit for bit
    for p, dtype in ((0.75, torch.bfloat16), (0.75, torch.float32), (0.1, torch.bfloat16)):
        x = torch.randn(64, 33).to(dtype)
        torch.manual_seed(5)
        u = torch.empty_like(x, dtype=torch.float32).uniform_()
        torch.manual_seed(5)
        assert torch.equal(fast_dropout(x, p), x * (u >= p) * (1.0 / (1.0 - p))), (p, dtype)
    x = torch.randn(5, 7)
    assert fast_dropout(x, 0.0) is x
    with pytest.raises(ValueError, match="dropout probability"):
        fast_dropout(x, 1.0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("kernel, stride, frames", [(3, 1, 16), (3, 2, 16), (3, 2, 15),
                                                    (5, 1, 9), (5, 2, 7)])
def test_temporal_max_pool_is_max_pool2d_in_values_and_gradients(dtype, kernel, stride, frames):
    torch.manual_seed(0)
    # after a ReLU, as in the multi-scale TCN branches: many windows tie at 0, and coarse
    # integer values make ties between positive values common too
    base = torch.relu(torch.randint(-3, 4, (2, 5, frames, 4)).to(dtype))
    reference = nn.MaxPool2d((kernel, 1), (stride, 1), ((kernel - 1) // 2, 0))
    pool = TemporalMaxPool(kernel, stride)
    # the sums of overlapping windows are made in max-pool's order: bit-identical gradients,
    # so models trained with either are trained identically
    grad_out = torch.randn(reference(base).shape).to(dtype)
    x_ref, x = base.clone().requires_grad_(), base.clone().requires_grad_()
    expected = reference(x_ref)
    out = pool(x)
    assert out.dtype == dtype and torch.equal(out, expected)
    expected.backward(grad_out)
    out.backward(grad_out)
    assert torch.equal(x.grad, x_ref.grad)  # all of it to the first maximum, ties included
    with torch.no_grad():  # the inference path (shifted maxima, no index)
        assert torch.equal(pool(base), reference(base))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fast_dropout_half_draws_independent_bits(dtype):
    """p = 0.5 keeps each element with probability 1/2 from the bits of random integers:
    keep rate, pairs of neighbours and of elements one word (32) apart kept together 1/4 of
    the time (a mask repeating within or across words would not be), output stored like the
    input (channels last), gradient mask / (1 - p), reproducible under a seed."""
    x = torch.ones(8, 64, 40, 25, dtype=dtype).contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    torch.manual_seed(0)
    y = fast_dropout(x, 0.5)
    assert y.dtype == dtype and y.is_contiguous(memory_format=torch.channels_last)
    kept = (y != 0).permute(0, 2, 3, 1).reshape(-1).float()  # memory order
    n = kept.numel()
    band = 4 * (n * 0.25) ** 0.5
    assert abs(kept.sum().item() - n / 2) < band
    for gap in (1, 31, 32, 33):
        pairs = (kept[:-gap] * kept[gap:]).sum().item()
        assert abs(pairs - (n - gap) / 4) < 4 * ((n - gap) * 0.25 * 0.75) ** 0.5, gap
    assert set(y.unique().tolist()) == {0.0, 2.0}
    y.sum().backward()
    torch.testing.assert_close(x.grad, y.detach())  # x is ones: gradient = mask * 2
    torch.manual_seed(0)
    assert torch.equal(fast_dropout(x.detach(), 0.5), y.detach())
    assert not torch.equal(fast_dropout(x.detach(), 0.5), y.detach())
    odd = torch.ones(3, 7, dtype=dtype)[:, ::2]  # neither dense nor a multiple of 32
    assert fast_dropout(odd, 0.5).shape == (3, 4)


def test_temporal_max_pool_rejects_even_kernels():
    with pytest.raises(ValueError, match="odd kernel"):
        TemporalMaxPool(4)


def test_fast_dropout_module_and_the_stgcn_option():
    """FastDropout is the identity in eval and drops at rate p in training; ST-GCN's
    fast_dropout option swaps only the temporal dropout: same state dict, same eval output."""
    drop = FastDropout(0.5)
    x = torch.ones(200, 500)
    assert drop.eval()(x) is x
    kept = (drop.train()(x) != 0).float().mean().item()
    assert abs(kept - 0.5) < 0.01
    torch.manual_seed(0)
    ref = STGCN(graph_cfg=dict(layout="ntu25", mode="stgcn_spatial"), base_channels=8,
                num_stages=3, inflate_stages=(3,), down_stages=(3,), dropout=0.5)
    fast = STGCN(graph_cfg=dict(layout="ntu25", mode="stgcn_spatial"), base_channels=8,
                 num_stages=3, inflate_stages=(3,), down_stages=(3,), dropout=0.5,
                 fast_dropout=True)
    fast.load_state_dict(ref.state_dict())  # strict: the same keys and shapes
    drops = [m.p for m in fast.modules() if isinstance(m, FastDropout)]
    assert drops == [0.0, 0.5, 0.5]  # one per block, none in the first (as the paper's)
    assert not any(isinstance(m, FastDropout) for m in ref.modules())
    clip = torch.randn(2, 1, 16, 25, 3)
    torch.testing.assert_close(fast.eval()(clip), ref.eval()(clip), rtol=0, atol=0)
    fast.train()
    torch.manual_seed(1)
    a = fast(clip)
    torch.manual_seed(2)
    assert not torch.equal(a, fast(clip))  # training draws a mask


def test_aggregate_subsets_export_path_is_the_einsum(monkeypatch):
    """Under ONNX export the aggregation is K matrix products; eagerly one einsum. Both are
    sum_k X_k A_k (hand-written sum here)."""
    torch.manual_seed(0)
    x, A = torch.randn(2, 3, 4, 5, 6), torch.randn(3, 6, 7)
    expected = sum(x[:, k] @ A[k] for k in range(3))
    torch.testing.assert_close(aggregate_subsets(x, A), expected, atol=1e-5, rtol=1e-5)
    monkeypatch.setattr(torch.onnx, "is_in_onnx_export", lambda: True)
    monkeypatch.setattr(torch, "einsum", lambda *a: pytest.fail("einsum under export"))
    torch.testing.assert_close(aggregate_subsets(x, A), expected, atol=1e-5, rtol=1e-5)


def test_aggregate_subsets_channels_last_is_the_hand_written_sum():
    """sum_k X_k A_k from a [N, K * C, T, V] tensor stored channels last, returned channels
    last; a tensor stored the usual way is refused, not silently copied."""
    torch.manual_seed(0)
    y, A = torch.randn(2, 3 * 4, 5, 6), torch.randn(3, 6, 7)
    expected = sum(y.view(2, 3, 4, 5, 6)[:, k] @ A[k] for k in range(3))
    out = aggregate_subsets_channels_last(y.contiguous(memory_format=torch.channels_last), A)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    assert out.is_contiguous(memory_format=torch.channels_last)
    with pytest.raises(ValueError, match="channels-last"):
        aggregate_subsets_channels_last(y, A)


def test_stgcn_channels_last_option_is_the_same_function(monkeypatch):
    """ST-GCN with channels_last=True: the same state dict, outputs and gradients as the
    default layout (to rounding) in training and eval, activations stored channels last, and
    the ONNX-export path unchanged (the einsum-free K products on the default layout)."""
    def build(**kw):
        torch.manual_seed(0)
        return STGCN(graph_cfg=dict(layout="ntu25", mode="stgcn_spatial"), base_channels=8,
                     num_stages=3, inflate_stages=(3,), down_stages=(3,), **kw)

    ref, fast = build(), build(channels_last=True)
    fast.load_state_dict(ref.state_dict())
    clip = torch.randn(2, 2, 16, 25, 3)
    layouts = []
    fast.layers[1].register_forward_hook(
        lambda m, i, o: layouts.append(o.is_contiguous(memory_format=torch.channels_last)))
    for train in (True, False):
        ref.train(train), fast.train(train)
        a, b = ref(clip), fast(clip)
        torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)
        if train:
            (a * torch.arange(a.numel()).view_as(a).sin()).sum().backward()
            (b * torch.arange(b.numel()).view_as(b).sin()).sum().backward()
            # the biases of convolutions before a BatchNorm have gradient 0 up to rounding:
            # the tolerance is relative to the model's largest gradient
            scale = max(p.grad.abs().max().item() for p in ref.parameters())
            for (name, p), q in zip(ref.named_parameters(), fast.parameters()):
                torch.testing.assert_close(q.grad, p.grad, atol=1e-5 * scale, rtol=1e-5,
                                           msg=name)
    assert layouts == [True, True]
    monkeypatch.setattr(torch.onnx, "is_in_onnx_export", lambda: True)
    monkeypatch.setattr(stgcn_module, "aggregate_subsets_channels_last",
                        lambda *a: pytest.fail("channels-last product under export"))
    torch.testing.assert_close(fast(clip), a, atol=1e-5, rtol=1e-5)


def test_expand_subsets_export_path_is_the_einsum(monkeypatch):
    """'post' graph convolution: X A_k per subset, stacked on axis 1 — eagerly an einsum,
    under ONNX export one broadcast matrix product; both equal the hand-written stack."""
    torch.manual_seed(0)
    x, A = torch.randn(2, 4, 5, 6), torch.randn(3, 6, 7)
    expected = torch.stack([x @ A[k] for k in range(3)], dim=1)
    torch.testing.assert_close(expand_subsets(x, A), expected, atol=1e-5, rtol=1e-5)
    monkeypatch.setattr(torch.onnx, "is_in_onnx_export", lambda: True)
    monkeypatch.setattr(torch, "einsum", lambda *a: pytest.fail("einsum under export"))
    torch.testing.assert_close(expand_subsets(x, A), expected, atol=1e-5, rtol=1e-5)
