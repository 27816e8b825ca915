"""1x1 convolutions as batched matrix products (zoo.ops.pointwise_gemm) equal the convolution."""
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from zoo.ops.pointwise_gemm import PointwiseGemmConv2d, is_pointwise, pointwise_as_gemm


@pytest.mark.parametrize("stride", [1, 2, (2, 1)])
@pytest.mark.parametrize("bias", [True, False])
def test_pointwise_gemm_is_the_convolution(stride, bias):
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 10, 1, stride=stride, bias=bias)
    gemm = PointwiseGemmConv2d.from_conv(conv)
    assert gemm.weight is conv.weight and gemm.state_dict().keys() == conv.state_dict().keys()
    x = torch.randn(3, 6, 9, 7)
    torch.testing.assert_close(gemm(x), conv(x), atol=1e-6, rtol=1e-5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got, ref = gemm(x), conv(x)
    assert got.dtype == ref.dtype == torch.bfloat16  # autocast casts the product as the conv
    torch.testing.assert_close(got.float(), ref.float(), atol=0.05, rtol=0.02)
    x.requires_grad_()
    gemm(x).square().sum().backward()
    grad = x.grad.clone()
    x.grad = None
    conv(x).square().sum().backward()
    torch.testing.assert_close(grad, x.grad, atol=1e-5, rtol=1e-5)


def test_pointwise_gemm_keeps_the_convolution_for_channels_last_and_export(monkeypatch):
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 5, 1)
    gemm = PointwiseGemmConv2d.from_conv(conv)
    calls = []
    real_conv2d = F.conv2d
    monkeypatch.setattr(F, "conv2d", lambda *a, **k: calls.append(1) or real_conv2d(*a, **k))
    x = torch.randn(2, 4, 6, 3)
    gemm(x)
    assert calls == []  # the product, not a convolution
    last = gemm(x.contiguous(memory_format=torch.channels_last))
    assert calls == [1] and last.is_contiguous(memory_format=torch.channels_last)
    monkeypatch.setattr(torch.onnx, "is_in_onnx_export", lambda: True)
    torch.testing.assert_close(gemm(x), conv(x))
    assert calls == [1, 1, 1]


def test_pointwise_as_gemm_replaces_only_plain_1x1_convolutions():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Conv2d(4, 4, (3, 1), padding=(1, 0)),
                          nn.Sequential(nn.Conv2d(4, 4, 1, groups=2), nn.Conv2d(4, 2, 1, 2)),
                          nn.Conv1d(2, 2, 1))
    assert [is_pointwise(m) for m in (model[0], model[1], model[2][0], model[2][1])] == \
        [True, False, False, True]
    x = torch.randn(2, 3, 8, 5)
    ref = model[:3](x)
    assert pointwise_as_gemm(model) == ["0", "2.1"]
    assert isinstance(model[0], PointwiseGemmConv2d) and type(model[1]) is nn.Conv2d
    torch.testing.assert_close(model[:3](x), ref, atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="not a 1x1"):
        PointwiseGemmConv2d.from_conv(model[1])
