"""Shared units of the skeleton GCNs (the role of MMAction2's ``gcn_utils.py``).

* The GCN stem: :func:`input_batchnorm` (the ``data_bn`` BatchNorm over (joint, channel) or
  (person, joint, channel)), :func:`check_input` (shape check with an error naming the model and
  layout), :func:`normalise_input` (``[N, M, T, V, C]`` -> ``[N * M, C, T, V]`` through that
  BatchNorm) and :func:`stage_widths` (block widths from base width and inflation stages).
  Used by ST-GCN (Yan et al., AAAI 2018), CTR-GCN (Chen et al., ICCV 2021) and PYSKL's ST-GCN.
* Temporal units: :class:`TemporalConv` (``kernel x 1`` conv + BN), :func:`temporal_residual`
  (the residual path of a block) and :class:`TemporalMaxPool` (the max-pool branch of the
  multi-scale TCNs, without PyTorch's slow CPU kernel), shared by CTR-GCN and the PYSKL family.
* The units of the ST-GCN family as re-implemented by PYSKL (Duan et al., "PYSKL: Towards Good
  Practices for Skeleton Action Recognition", ACM MM 2022) and MMAction2 1.x:
  :class:`AdaptiveGraphConv` — the spatial graph convolution of ST-GCN
  ``y = act(BN(sum_k W_k x A_k) [+ down(x)])`` with the adjacency made learnable in one of three
  ways (``adaptive``): ``'importance'`` (``A * PA``, PA initialised to ones; the paper's edge
  importance), ``'offset'`` (``A + PA``, PA ~ U(-1e-6, 1e-6)) or ``'init'`` (A itself is a
  parameter); ``None`` keeps A fixed. ``conv_pos='post'`` aggregates first and convolves the
  ``K * C`` stacked result instead. :class:`TemporalUnit` — a ``kernel x 1`` temporal
  convolution, BatchNorm and dropout. :class:`MultiScaleTemporal` — STGCN++'s multi-scale
  temporal module: parallel branches (dilated ``k x 1`` convolutions, a max-pool branch and a
  strided 1x1 branch), concatenated, then BN-ReLU-1x1 conv, BN and dropout.
* :func:`fast_dropout`: inverted dropout whose mask is one uniform draw per element
  (``u >= p``) — the distribution of ``torch.nn.functional.dropout``, at a quarter of the
  cost of its CPU ``bernoulli_`` draw (SkateFormer's attention dropout, issue 21), and
  :class:`FastDropout`, the same as a module in place of ``nn.Dropout`` (ST-GCN's
  ``fast_dropout`` option).

No unit here adds a level to the modules that use it: the stem's BatchNorm is the model's own
``data_bn`` attribute, and the sub-module names match the official code and PYSKL's
``unit_gcn`` / ``unit_tcn`` / ``mstcn`` (``A``, ``PA``, ``conv``, ``bn``, ``down``,
``branches``, ``transform``), so state-dict keys are those of the original files and
checkpoints convert by renaming block prefixes only (:mod:`zoo.converters`).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

EPS = 1e-4


# the GCN stem ---------------------------------------------------------------------------------
def input_batchnorm(per_person: bool | None, in_channels: int, num_joints: int,
                    num_person: int = 1) -> nn.Module:
    """The input BatchNorm (``data_bn``): over ``num_person * num_joints * in_channels``
    features when ``per_person`` (CTR-GCN, PYSKL ``'MVC'``), over ``num_joints * in_channels``
    when not (ST-GCN, PYSKL ``'VC'``), none (identity) for ``None``."""
    if per_person is None:
        return nn.Identity()
    return nn.BatchNorm1d((num_person if per_person else 1) * in_channels * num_joints)


def check_input(x: torch.Tensor, model: str, layout: str, num_joints: int, in_channels: int,
                num_person: int | None = None) -> None:
    """Raise ``ValueError`` unless ``x`` is ``[N, M, T, V, C]`` with ``V = num_joints``,
    ``C = in_channels`` and, when given, ``M = num_person``; the message names ``model`` and
    the joint ``layout``."""
    if x.dim() != 5:
        raise ValueError(f"{model} expects [N, M, T, V, C], got shape {tuple(x.shape)}")
    _, m, _, v, c = x.shape
    if num_person is None:
        if v != num_joints or c != in_channels:
            raise ValueError(f"{model} built for V={num_joints} joints ({layout}) and "
                             f"C={in_channels} channels got V={v}, C={c}")
    elif (m, v, c) != (num_person, num_joints, in_channels):
        raise ValueError(
            f"{model} built for M={num_person} persons, V={num_joints} joints ({layout}) and "
            f"C={in_channels} channels got M={m}, V={v}, C={c}")


def normalise_input(x: torch.Tensor, data_bn: nn.Module, per_person: bool) -> torch.Tensor:
    """``[N, M, T, V, C]`` -> ``[N * M, C, T, V]`` through ``data_bn`` (applied to
    ``[N, M * V * C, T]`` when ``per_person``, else to ``[N * M, V * C, T]``)."""
    n, m, t, v, c = x.shape
    x = x.permute(0, 1, 3, 4, 2)  # N M V C T
    x = data_bn(x.reshape(n, m * v * c, t) if per_person else x.reshape(n * m, v * c, t))
    return x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)


def stage_widths(base_channels: int, num_stages: int, inflate_stages: Sequence[int],
                 ratio: float = 2) -> list[int]:
    """Output width of each block ``1..num_stages``: ``base_channels * ratio ** k`` with ``k``
    the inflation stages up to and including the block (ST-GCN, CTR-GCN: 64-64-64-64-128-128-
    128-256-256-256 for the defaults ``inflate_stages=(5, 8)``)."""
    widths, inflations = [], 0
    for stage in range(1, num_stages + 1):
        inflations += stage in inflate_stages
        widths.append(int(base_channels * ratio ** inflations + EPS))
    return widths


# temporal units -------------------------------------------------------------------------------
class TemporalConv(nn.Module):
    """``kernel x 1`` convolution over time (optionally dilated / strided) and BatchNorm."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 dilation: int = 1):
        super().__init__()
        pad = (kernel_size + (kernel_size - 1) * (dilation - 1) - 1) // 2
        self.conv = nn.Conv2d(in_channels, out_channels, (kernel_size, 1), (stride, 1),
                              (pad, 0), (dilation, 1))
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


def _temporal_windows(x: torch.Tensor, kernel: int, stride: int) -> list[torch.Tensor]:
    """The ``kernel`` strided views of ``x`` ([N, C, T, V], padded with -inf over time) whose
    element-wise maximum is the ``kernel x 1`` max-pool with padding ``(kernel - 1) // 2``."""
    pad = (kernel - 1) // 2
    t_out = (x.shape[-2] + 2 * pad - kernel) // stride + 1
    padded = F.pad(x, (0, 0, pad, pad), value=float("-inf"))
    span = stride * (t_out - 1) + 1
    return [padded[..., i:i + span:stride, :] for i in range(kernel)]


def _window_max(windows: list[torch.Tensor]) -> torch.Tensor:
    out = windows[0]
    for w in windows[1:]:
        out = torch.maximum(out, w)
    return out


class _TemporalMaxPoolFunction(torch.autograd.Function):
    """Max over the temporal windows with max-pool's gradient: all of it to the first maximum
    of each window (found again in backward from the saved input and output)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
        out = _window_max(_temporal_windows(x, kernel, stride))
        ctx.save_for_backward(x, out)
        ctx.kernel, ctx.stride = kernel, stride
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, out = ctx.saved_tensors
        pad, frames = (ctx.kernel - 1) // 2, x.shape[-2]
        grad_in = grad.new_zeros((*grad.shape[:-2], frames + 2 * pad, grad.shape[-1]))
        span = ctx.stride * (grad.shape[-2] - 1) + 1
        unclaimed, firsts = torch.ones_like(out, dtype=torch.bool), []
        for window in _temporal_windows(x, ctx.kernel, ctx.stride):
            firsts.append((window == out) & unclaimed)
            unclaimed &= ~firsts[-1]
        # added in max-pool's order (increasing output time for each input element), so fp32
        # gradients are bit-identical to nn.MaxPool2d's
        for i in reversed(range(ctx.kernel)):
            grad_in[..., i:i + span:ctx.stride, :] += grad * firsts[i]
        return grad_in[..., pad:pad + frames, :], None, None


class TemporalMaxPool(nn.Module):
    """``kernel x 1`` max-pool over time with stride ``(stride, 1)`` and padding
    ``((kernel - 1) // 2, 0)``: the values and gradients of ``nn.MaxPool2d`` with those
    arguments (the max-pool branch of CTR-GCN's and STGCN++'s multi-scale TCN).

    PyTorch's CPU kernel for this window shape is slow (15 ms for [8, 64, 64, 25] on one
    thread here, 13 % of CTR-GCN's bf16 inference); written as the maximum of ``kernel``
    shifted views it costs under 1 ms without gradients, and about half of max-pool's time
    with them (the custom backward sends the gradient to the first maximum of each window, as
    max-pool does).
    Under ONNX export it is the ordinary max-pool operator.
    """

    def __init__(self, kernel_size: int = 3, stride: int = 1):
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"temporal max-pool needs an odd kernel size, got {kernel_size}")
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size, self.stride
        if torch.onnx.is_in_onnx_export():
            return F.max_pool2d(x, (k, 1), (s, 1), ((k - 1) // 2, 0))
        if torch.is_grad_enabled() and x.requires_grad:
            return _TemporalMaxPoolFunction.apply(x, k, s)
        return _window_max(_temporal_windows(x, k, s))

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


def aggregate_subsets(x: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """The graph convolution's aggregation ``sum_k X_k A_k``: ``x`` ``[N, K, C, T, V]``, ``A``
    ``[K, V, W]`` -> ``[N, C, T, W]``.

    Eagerly one einsum (other contraction orders measured no faster); under ONNX export K
    matrix products with constant right-hand sides, which onnxruntime runs as GEMM (and as
    integer GEMM in an int8 file) where its Einsum kernel is slow (in an onnxruntime profile of
    ST-GCN's int8 file the Einsum took about a third of the time).
    """
    if torch.onnx.is_in_onnx_export():
        out = torch.matmul(x[:, 0], A[0])
        for k in range(1, x.shape[1]):
            out = out + torch.matmul(x[:, k], A[k])
        return out
    return torch.einsum("nkctv,kvw->nctw", x, A)


def aggregate_subsets_channels_last(y: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """:func:`aggregate_subsets` for a 1x1 convolution's output in channels-last memory: ``y``
    ``[N, K * C, T, V]`` stored as ``[N, T, V, K * C]``, ``A`` ``[K, V, W]`` -> ``[N, C, T, W]``
    stored channels last.

    In that memory each (sample, frame) holds a ``[V * K, C]`` matrix, so the aggregation is one
    batched product ``A' [W, V * K] @ y [V * K, C]`` over the ``N * T`` frames (``A'[w, v * K
    + k] = A[k, v, w]``) with no permute of the activations; the shared ``A'`` is expanded
    (stride 0), not copied. Equal to :func:`aggregate_subsets` up to the order of the sums.
    """
    if not y.is_contiguous(memory_format=torch.channels_last):
        raise ValueError(f"expected a channels-last tensor, got strides {y.stride()} for shape "
                         f"{tuple(y.shape)}")
    k, v, w = A.shape
    n, kc, t, _ = y.shape
    frames = y.permute(0, 2, 3, 1).reshape(n * t, v * k, kc // k)  # a view
    weights = A.permute(2, 1, 0).reshape(w, v * k)
    out = torch.bmm(weights.expand(n * t, w, v * k), frames)
    return out.view(n, t, w, -1).permute(0, 3, 1, 2)


def expand_subsets(x: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """Each subset's aggregation ``X A_k`` stacked: ``x`` ``[N, C, T, V]``, ``A`` ``[K, V, W]``
    -> ``[N, K, C, T, W]`` (the graph convolution that convolves after aggregating).

    Eagerly one einsum; under ONNX export one broadcast matrix product (a ``MatMul`` with a
    constant right-hand side, as in :func:`aggregate_subsets`).
    """
    if torch.onnx.is_in_onnx_export():
        return torch.matmul(x.unsqueeze(1), A.unsqueeze(1))  # [N,1,C,T,V] @ [K,1,V,W]
    return torch.einsum("nctv,kvw->nkctw", x, A)


def temporal_residual(in_channels: int, out_channels: int, stride: int, residual: bool,
                      conv: type[nn.Module] | None = None) -> nn.Module | None:
    """The residual path of a GCN block: none, the identity when the shape is kept, else a
    strided 1x1 temporal convolution + BatchNorm (``conv``, default :class:`TemporalConv`)."""
    if not residual:
        return None
    if in_channels == out_channels and stride == 1:
        return nn.Identity()
    return (conv or TemporalConv)(in_channels, out_channels, 1, stride)


# PYSKL's units of the ST-GCN family ---------------------------------------------------------
ADAPTIVE_MODES = (None, "init", "offset", "importance")
DEFAULT_MS_CFG = ((3, 1), (3, 2), (3, 3), (3, 4), ("max", 3), "1x1")


class AdaptiveGraphConv(nn.Module):
    """Spatial graph convolution with a learnable adjacency (PYSKL's ``unit_gcn``).

    Args:
        in_channels / out_channels: feature widths.
        A: adjacency partitions ``[K, V, V]`` (copied).
        adaptive: ``'importance'``, ``'offset'``, ``'init'`` or ``None`` (see the module doc).
        conv_pos: ``'pre'`` (1x1 conv to ``K * out`` channels, then ``sum_k X_k A_k``) or
            ``'post'`` (aggregate per subset, then 1x1 conv from ``K * in`` channels).
        with_res: add a residual inside the unit (1x1 conv + BN when the width changes).

    Input / output ``[N, C, T, V]``.
    """

    def __init__(self, in_channels: int, out_channels: int, A: torch.Tensor,
                 adaptive: str | None = "importance", conv_pos: str = "pre",
                 with_res: bool = False):
        super().__init__()
        if adaptive not in ADAPTIVE_MODES:
            raise ValueError(f"unknown gcn adaptive mode {adaptive!r}; use one of "
                             f"{ADAPTIVE_MODES}")
        if conv_pos not in ("pre", "post"):
            raise ValueError(f"unknown gcn conv_pos {conv_pos!r}; use 'pre' or 'post'")
        if A.dim() != 3 or A.shape[1] != A.shape[2]:
            raise ValueError(f"adjacency must be [K, V, V], got {tuple(A.shape)}")
        self.adaptive, self.conv_pos = adaptive, conv_pos
        self.num_subsets = A.shape[0]
        if adaptive == "init":
            self.A = nn.Parameter(A.clone())
        else:
            self.register_buffer("A", A.clone())
        if adaptive == "importance":
            self.PA = nn.Parameter(torch.ones_like(A))
        elif adaptive == "offset":
            self.PA = nn.Parameter(torch.empty_like(A).uniform_(-1e-6, 1e-6))
        if conv_pos == "pre":
            self.conv = nn.Conv2d(in_channels, out_channels * self.num_subsets, 1)
        else:
            self.conv = nn.Conv2d(in_channels * self.num_subsets, out_channels, 1)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU()
        if not with_res:
            self.down = None
        elif in_channels != out_channels:
            self.down = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1),
                                      nn.BatchNorm2d(out_channels))
        else:
            self.down = nn.Identity()

    def adjacency(self) -> torch.Tensor:
        """The adjacency used in the forward pass (``[K, V, V]``)."""
        if self.adaptive == "importance":
            return self.A * self.PA
        if self.adaptive == "offset":
            return self.A + self.PA
        return self.A

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, v = x.shape
        A = self.adjacency()
        if self.conv_pos == "pre":
            y = aggregate_subsets(self.conv(x).view(n, self.num_subsets, -1, t, v), A)
        else:
            y = expand_subsets(x, A).reshape(n, -1, t, v)
            y = self.conv(y)
        y = self.bn(y)
        if self.down is not None:
            y = y + self.down(x)
        return self.act(y)


class TemporalUnit(TemporalConv):
    """CTR-GCN's temporal convolution + BatchNorm with PYSKL's ``unit_tcn`` options: the
    BatchNorm can be left out (``norm=False``) and dropout follows. Same parameter names, so
    the two load each other's weights. Input / output ``[N, C, T, V]``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 9,
                 stride: int = 1, dilation: int = 1, norm: bool = True, dropout: float = 0.0):
        super().__init__(in_channels, out_channels, kernel_size, stride, dilation)
        if not norm:
            self.bn = nn.Identity()
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(super().forward(x))


def _branch(in_channels: int, channels: int, cfg, stride: int) -> nn.Module:
    if cfg == "1x1":
        return nn.Conv2d(in_channels, channels, 1, stride=(stride, 1))
    if not (isinstance(cfg, Sequence) and len(cfg) == 2):
        raise ValueError(f"multi-scale TCN branch must be '1x1', ('max', k) or "
                         f"(kernel, dilation), got {cfg!r}")
    entry = [nn.Conv2d(in_channels, channels, 1), nn.BatchNorm2d(channels), nn.ReLU()]
    if cfg[0] == "max":
        k = int(cfg[1])
        return nn.Sequential(*entry, TemporalMaxPool(k, stride))
    kernel, dilation = int(cfg[0]), int(cfg[1])
    return nn.Sequential(*entry, TemporalUnit(channels, channels, kernel, stride, dilation,
                                              norm=False))


class MultiScaleTemporal(nn.Module):
    """Multi-scale temporal convolution of STGCN++ (PYSKL's ``mstcn``).

    Branches follow ``ms_cfg`` (default: ``k=3`` with dilations 1-4, a 3x1 max-pool branch and
    a 1x1 branch); each gets ``out_channels // branches`` channels, the first one also the
    remainder (or ``int(mid_channels * out_channels)`` each when ``mid_channels`` is a
    fraction). The concatenation goes through BN, ReLU and a 1x1 conv to ``out_channels``, then
    BN and dropout. Input / output ``[N, C, T, V]`` (T divided by ``stride``).
    """

    def __init__(self, in_channels: int, out_channels: int, mid_channels: float | None = None,
                 dropout: float = 0.0, ms_cfg: Sequence = DEFAULT_MS_CFG, stride: int = 1):
        super().__init__()
        num_branches = len(ms_cfg)
        if mid_channels is None:
            mid = out_channels // num_branches
            first = out_channels - mid * (num_branches - 1)
        else:
            if not (isinstance(mid_channels, float) and mid_channels > 0):
                raise ValueError(f"mid_channels must be a positive fraction, got {mid_channels!r}")
            mid = first = int(out_channels * mid_channels)
        self.branches = nn.ModuleList(
            _branch(in_channels, first if i == 0 else mid, cfg, stride)
            for i, cfg in enumerate(ms_cfg))
        total = first + mid * (num_branches - 1)
        self.transform = nn.Sequential(nn.BatchNorm2d(total), nn.ReLU(),
                                       nn.Conv2d(total, out_channels, 1))
        self.bn = nn.BatchNorm2d(out_channels)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([branch(x) for branch in self.branches], dim=1)
        return self.drop(self.bn(self.transform(y)))


def fast_dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """Inverted dropout (training only: call it where ``F.dropout(x, p, training=True)``
    would be): each element is kept independently with probability ``1 - p`` and scaled by
    ``1 / (1 - p)``, as in ``F.dropout``.

    The keep mask is ``uniform_[0, 1) >= p`` (drawn in ``x``'s dtype, in fp32 for bf16 inputs,
    whose 8-bit mantissa would quantise the threshold): one uniform draw per element,
    which on the CPU costs about a quarter of the ``bernoulli_`` draw ``F.dropout`` makes
    (18 vs 84 ms for 6.3 M elements on one thread here); attention dropout on [windows,
    heads, tokens, tokens] score maps was a third of SkateFormer's training step. For
    ``p = 0.5`` (ST-GCN's and SkateFormer's official value) each element's keep bit is one bit
    of a uniform random 32-bit integer instead: the same distribution exactly, from 32 times
    fewer draws (a sixth of the uniform draw's time here).
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    if p == 0.0:
        return x
    if p == 0.5:
        return x * _half_keep_mask(x)
    keep = torch.empty_like(x, dtype=torch.float32 if x.dtype == torch.bfloat16 else None)
    keep = keep.uniform_() >= p
    return x * keep * (1.0 / (1.0 - p))


def _half_keep_mask(x: torch.Tensor) -> torch.Tensor:
    """0 / 2 per element of ``x`` (its dtype, stored like it), each 2 with probability 1/2:
    the bits of uniform random 32-bit integers."""
    n = x.numel()
    words = torch.randint(-2 ** 31, 2 ** 31, (-(-n // 32),), dtype=torch.int32,
                          device=x.device)
    shifts = torch.arange(32, dtype=torch.int32, device=x.device)
    bits = ((words.unsqueeze(1) >> shifts) & 1).view(-1)[:n]
    mask = torch.empty_like(x)
    # a dense tensor's storage in memory order (channels-last too); empty_like of a
    # non-dense x is contiguous
    mask.as_strided((n,), (1,)).copy_(bits)
    return mask.mul_(2.0)


class FastDropout(nn.Dropout):
    """``nn.Dropout`` drawing its mask with :func:`fast_dropout` in training (the same
    distribution, a different random stream); identity in eval mode. No parameters, so a
    model's state dict is the same with either."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fast_dropout(x, self.p) if self.training else x
