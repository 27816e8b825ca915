"""SkateFormer: Skeletal-Temporal Transformer (Do & Kim, ECCV 2024).

The backbone follows the official ``model/SkateFormer.py`` (class ``SkateFormer_``) tensor by
tensor, so an official checkpoint converts by renaming keys (``zoo.converters.skateformer``):

* **Skate-Embedding** — a 1x1-conv stem (C -> 2C -> 3C -> D with GELU) on every joint of every
  person, plus ``te(index_t) * E_jp``: a sinusoidal encoding of each frame's position
  ``index_t`` in [-1, 1] in the source sequence, multiplied element-wise by a learned
  joint-person embedding ``E_jp`` [D, M*V] (or, with ``temporal_embedding='learned'``, a
  learned [D, T, M*V] table that fixes the clip length).
* **SkateFormer block** — LayerNorm, one linear map to 2C channels split into: C/4 for a
  grouped G-Conv (a learned V'xV' adjacency per group), C/4 for a grouped T-Conv (k x 1), and
  3C/2 for the four **Skate-MSA** branches (q, k, v for C/8 channels each); the outputs are
  concatenated, projected, added to the input, then a GELU MLP with its own residual.
* **Skate-Types** — each MSA branch attends inside one kind of skeletal-temporal window:
  type 1 neighbouring joints x neighbouring frames, type 2 distant joints x neighbouring
  frames, type 3 neighbouring joints x distant frames, type 4 distant joints x distant frames.
  "Neighbouring" cuts an axis into contiguous runs; "distant" takes every (len/size)-th
  element. Attention has a relative temporal position bias (types 1, 3: per relative frame
  offset; types 2, 4: per relative frame offset and joint pair).
* Stages of (96, 192, 192, 192) channels, 2 blocks each; stages 2-4 start with a stride-2
  temporal conv + BatchNorm, so T=64 becomes 8.

All persons' joints form one axis of V' = M * V' tokens (person-major), so G-Conv and the
Skate-Types mix persons. Joints are first reordered into the *Skate partition order*: body
parts of equal size laid end to end, which makes "neighbouring joints" a body part and
"distant joints" the same position across parts. The zoo's standard layouts are reordered
inside the model (:data:`SKATE_PARTITIONS`):

================ ================================================================== ========
layout           Skate order (zoo joint indices, 0-based), grouped by body part     dropped
================ ================================================================== ========
``ntu25``        6,7,21,22 | 10,11,23,24 | 12,13,14,15 | 16,17,18,19 | 4,8,5,9 | 1,2,0,3  20
``kinect20``     4,5,6,7 | 8,9,10,11 | 12,13,14,15 | 16,17,18,19 | 1,2,0,3                  —
``coco17``       5,7,9 | 6,8,10 | 11,13,15 | 12,14,16 | 0,1,2                             3, 4
================ ================================================================== ========

``ntu25`` is the official NTU feeder's ``new_idx`` (1-based NTU joints 7,8,22,23 | 11,12,24,25 |
13-16 | 17-20 | 5,9,6,10 | 2,3,1,4): left wrist/hand/hand tip/thumb, the same on the right, left
leg, right leg, shoulders and elbows, then spine mid, neck, spine base, head; joint 21
(spine_shoulder) is not used. ``kinect20`` is the official NW-UCLA ``new_idx``. ``coco17`` is
ours, by analogy: left arm, right arm, left leg, right leg (proximal to distal), then nose and
eyes; the ears are not used. The output is ``[N, M, C, T/8, V']`` in Skate order; the zoo's
:class:`~zoo.models.heads.GCNHead` (mean over T, V', then M) equals the official average pool
over T and all M*V' tokens.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from zoo.ops.small_head_attention import small_head_attention
from zoo.ops.small_head_attention import usable as small_head_attention_usable
from zoo.registry import MODELS

from .graph import get_layout
from .units import fast_dropout


@dataclass(frozen=True)
class SkatePartition:
    """Skate joint order of a layout: ``order`` (zoo joint indices, body parts end to end),
    ``part_size`` joints per part and ``local_size`` joints per neighbouring-joint window."""

    order: tuple[int, ...]
    part_size: int
    local_size: int

    @property
    def num_parts(self) -> int:
        return len(self.order) // self.part_size


SKATE_PARTITIONS: dict[str, SkatePartition] = {
    "ntu25": SkatePartition(
        (6, 7, 21, 22, 10, 11, 23, 24, 12, 13, 14, 15, 16, 17, 18, 19, 4, 8, 5, 9, 1, 2, 0, 3),
        part_size=4, local_size=8),
    "kinect20": SkatePartition(
        (4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 1, 2, 0, 3),
        part_size=4, local_size=4),
    "coco17": SkatePartition(
        (5, 7, 9, 6, 8, 10, 11, 13, 15, 12, 14, 16, 0, 1, 2), part_size=3, local_size=3),
}

# Skate-Type i: (frames distant?, joints distant?), in the official branch order.
SKATE_TYPES = ((False, False), (False, True), (True, False), (True, True))


def default_type_sizes(partition: SkatePartition, num_persons: int,
                       temporal_size: int = 8) -> tuple[tuple[int, int], ...]:
    """Window sizes of the four Skate-Types as the official configs choose them: a
    neighbouring-joint window of ``local_size`` joints, a distant-joint window of one joint per
    body part of every person, ``temporal_size`` frames (gives the official NTU and NW-UCLA
    sizes ``[8,8],[8,12],[8,8],[8,12]`` and ``[8,4],[8,5],[8,4],[8,5]``)."""
    local = (temporal_size, partition.local_size)
    distant = (temporal_size, partition.num_parts * num_persons)
    return local, distant, local, distant


def skate_partition(x: torch.Tensor, size: tuple[int, int], distant_t: bool, distant_v: bool,
                    dtype: torch.dtype | None = None
                    ) -> tuple[torch.Tensor, tuple[int, ...], tuple[int, ...]]:
    """Cut ``x`` [B, C, T, V] into windows of ``size[0] x size[1]`` (frames x joints).

    A neighbouring axis of length L splits as (L/size, size) with the window index outside; a
    distant one as (size, L/size), i.e. its members are L/size apart. Returns the windows
    [B * windows, size[0] * size[1], C] (frame-major tokens) plus what :func:`skate_reverse`
    needs. ``dtype``: the windows' dtype (the copy that cuts them also casts).
    """
    b, c, t, v = x.shape
    st, sv = size
    t_split = (st, t // st) if distant_t else (t // st, st)
    v_split = (sv, v // sv) if distant_v else (v // sv, sv)
    x = x.reshape(b, c, *t_split, *v_split)
    t_win, t_tok = (3, 2) if distant_t else (2, 3)
    v_win, v_tok = (5, 4) if distant_v else (4, 5)
    perm = (0, t_win, v_win, t_tok, v_tok, 1)
    windowed = x.permute(perm)
    if dtype is not None and dtype != windowed.dtype:
        windowed = windowed.to(dtype, memory_format=torch.contiguous_format)
    return windowed.reshape(-1, st * sv, c), tuple(windowed.shape), perm


def skate_reverse(windows: torch.Tensor, shape: tuple[int, ...], perm: tuple[int, ...],
                  t: int, v: int) -> torch.Tensor:
    """Inverse of :func:`skate_partition` for windows whose channel count may differ, channels
    last: [B, T, V, C] (the layout the block's output projection reads)."""
    shape = (*shape[:-1], windows.shape[-1])
    # axes of the split input (batch, channels, frame splits, joint splits) in channels-last order
    order = [perm.index(i) for i in (0, 2, 3, 4, 5, 1)]
    return windows.reshape(shape).permute(order).reshape(shape[0], t, v, windows.shape[-1])


class SkateMSA(nn.Module):
    """Multi-head self-attention inside one Skate-Type's windows, with a relative bias.

    Input: windows of q, k, v concatenated [B', A, 3 * heads * d] (A = frames x joints tokens).
    Scores are ``q k^T * heads^-0.5 + B`` (the official scale uses the head *count*), where B
    depends on the relative frame offset (``joint_pair_bias=False``, types 1 and 3) or on the
    offset and the joint pair (types 2 and 4). For types 1 and 3 the official code tiles the
    [frames, frames] bias over the frame-major tokens, so the offset it applies between tokens
    i and j is ``(i mod frames) - (j mod frames)``; we reproduce that.
    """

    def __init__(self, num_heads: int, size: tuple[int, int], joint_pair_bias: bool,
                 attn_drop: float = 0.0, rel_bias: bool = True):
        super().__init__()
        self.num_heads = num_heads
        self.size = tuple(size)
        self.joint_pair_bias = joint_pair_bias
        self.attn_drop = attn_drop
        st, sv = self.size
        if rel_bias:
            shape = (2 * st - 1, sv, sv, num_heads) if joint_pair_bias else (2 * st - 1, num_heads)
            self.rel_bias_table = nn.Parameter(torch.zeros(shape))
            nn.init.trunc_normal_(self.rel_bias_table, std=0.02)
            frames = torch.arange(st)
            self.register_buffer("rel_index", frames[:, None] - frames[None, :] + st - 1,
                                 persistent=False)
        else:
            self.rel_bias_table = None

    def relative_bias(self) -> torch.Tensor:
        """The additive bias [1, heads, A, A] over frame-major tokens."""
        st, sv = self.size
        area = st * sv
        table = self.rel_bias_table[self.rel_index]  # [st, st, (sv, sv,) heads]
        if self.joint_pair_bias:
            bias = table.permute(0, 2, 1, 3, 4).reshape(area, area, self.num_heads)
        else:
            # As the official code (a ``repeat`` that tiles): token i gets the offset of
            # "frame" i mod st, not of its real frame i // sv. Trained weights expect this.
            bias = table.repeat(sv, sv, 1)
        # contiguous: as a broadcast operand of the training path's score maps, the permuted
        # bias made the bf16 add several times slower
        return bias.permute(2, 0, 1).unsqueeze(0).contiguous()

    def fp32_on_cpu(self, x: torch.Tensor) -> bool:
        """Whether the attention runs in fp32 inside bf16 autocast on the CPU (where the
        compiled kernel of :meth:`compiled_kernel` cannot run: with PyTorch's fused attention).
        That kernel's fp32 path beats its bf16 one on the model's window shapes (heads of 3-6
        channels: the time goes to the score maps, not to products;
        ``benchmarks/results/skateformer_attention.md``), and the scores are rounded less.
        Training with attention dropout keeps its own path."""
        return (x.device.type == "cpu" and torch.is_autocast_enabled("cpu")
                and torch.get_autocast_dtype("cpu") == torch.bfloat16
                and not (self.training and self.attn_drop > 0))

    def compiled_kernel(self, x: torch.Tensor) -> bool:
        """Whether inference runs :func:`zoo.ops.small_head_attention.small_head_attention` (a
        compiled kernel for small heads: 2.5-4x PyTorch's fused CPU attention on these windows,
        fp32 inside, bf16 or fp32 in and out): on the CPU, without attention dropout in
        training, where autograd needs no gradient, outside graph captures (export, tracing,
        compile), and where the kernel could be compiled."""
        return (not (self.training and self.attn_drop > 0)
                and not (torch.is_grad_enabled() and (x.requires_grad or any(
                    p.requires_grad for p in self.parameters())))
                and small_head_attention_usable(x))

    def window_dtype(self, x: torch.Tensor) -> torch.dtype | None:
        """The dtype to cut the windows in (None: keep ``x``'s)."""
        if self.compiled_kernel(x):
            return None
        return torch.float32 if self.fp32_on_cpu(x) else None

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        b, a, _ = windows.shape
        bias = self.relative_bias() if self.rel_bias_table is not None else None
        if self.compiled_kernel(windows):
            # under autocast the windows are bf16 and stay so: the kernel reads them exactly
            # and computes in fp32, as the fp32 branch below
            return small_head_attention(windows, self.num_heads, self.num_heads ** -0.5, bias)
        if self.fp32_on_cpu(windows):
            q, k, v = windows.float().reshape(b, a, 3, self.num_heads, -1).permute(
                2, 0, 3, 1, 4).unbind(0)
            with torch.autocast("cpu", enabled=False):
                out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias,
                                                     scale=self.num_heads ** -0.5)
            # one pass that moves the heads back beside each other and casts to bf16
            merged = out.new_empty((b, a, out.shape[1] * out.shape[3]), dtype=torch.bfloat16)
            merged.view(b, a, out.shape[1], out.shape[3]).copy_(out.transpose(1, 2))
            return merged
        q, k, v = windows.reshape(b, a, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        mask = None if bias is None else bias.to(q.dtype)
        scale = self.num_heads ** -0.5
        if self.training and self.attn_drop > 0:
            # Written out: PyTorch's fused CPU attention has no dropout, and its fallback draws
            # the mask with bernoulli_ and guards fully masked rows (all / where) that an
            # additive bias never makes; fast_dropout's mask is ~4x cheaper (issue 21).
            scores = (q @ k.transpose(-2, -1)) * scale
            if mask is not None:
                scores = scores + mask
            out = fast_dropout(scores.softmax(-1), self.attn_drop) @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)
        return out.transpose(1, 2).reshape(b, a, -1)


class GroupGraphConv(nn.Module):
    """G-Conv: channel groups, each mixing joints with its own learned adjacency [V', V']."""

    def __init__(self, groups: int, num_points: int):
        super().__init__()
        self.adjacency = nn.Parameter(torch.zeros(groups, num_points, num_points))
        nn.init.trunc_normal_(self.adjacency, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, v = x.shape
        g = self.adjacency.shape[0]
        y = torch.einsum("ngctu,gvu->ngctv", x.reshape(n, g, c // g, t, v), self.adjacency)
        return y.reshape(n, c, t, v)


class DropPath(nn.Module):
    """Stochastic depth: zero a whole sample's residual branch with probability ``p``."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep


class MLP(nn.Module):
    """Linear, GELU, dropout, linear, dropout."""

    def __init__(self, channels: int, hidden: int, drop: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(channels, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, channels)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class SkateFormerBlock(nn.Module):
    """One SkateFormer block on [B, C, T, V'] (see the module docstring)."""

    def __init__(self, channels: int, num_points: int, num_heads: int,
                 type_sizes: Sequence[tuple[int, int]], kernel_size: int = 7,
                 mlp_ratio: float = 4.0, attn_drop: float = 0.0, drop: float = 0.0,
                 drop_path: float = 0.0, rel_bias: bool = True):
        super().__init__()
        if channels % 8 or num_heads % 8 or (channels // 8) % (num_heads // 8) \
                or (channels // 4) % (num_heads // 4):
            raise ValueError(f"SkateFormer needs channels and num_heads divisible by 8 and "
                             f"channels/8 divisible by num_heads/8; got channels={channels}, "
                             f"num_heads={num_heads}")
        self.channels = channels
        self.norm1 = nn.LayerNorm(channels)
        self.in_proj = nn.Linear(channels, 2 * channels)
        self.gconv = GroupGraphConv(num_heads // 4, num_points)
        self.tconv = nn.Conv2d(channels // 4, channels // 4, (kernel_size, 1),
                               padding=((kernel_size - 1) // 2, 0), groups=num_heads // 4)
        self.type_sizes = [tuple(s) for s in type_sizes]
        self.msa = nn.ModuleList(
            SkateMSA(num_heads // 8, size, joint_pair_bias=distant_v, attn_drop=attn_drop,
                     rel_bias=rel_bias)
            for size, (_, distant_v) in zip(self.type_sizes, SKATE_TYPES))
        self.out_proj = nn.Linear(channels, channels)
        self.proj_drop = nn.Dropout(drop)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(channels)
        self.mlp = MLP(channels, int(mlp_ratio * channels), drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, c, t, v = x.shape
        # channels last for the norms and linear maps, stored so: the residual stream then
        # stays channels last (one transposing copy per stage, not two per block)
        skip = x.permute(0, 2, 3, 1).contiguous()
        f = self.in_proj(self.norm1(skip)).permute(0, 3, 1, 2)
        f_gconv, f_tconv, f_attn = torch.split(f, [c // 4, c // 4, 3 * c // 2], dim=1)
        # every branch channels last, so that the concatenation is what out_proj reads
        branches = [self.gconv(f_gconv).permute(0, 2, 3, 1),
                    self.tconv(f_tconv).permute(0, 2, 3, 1)]
        for msa, chunk, size, (distant_t, distant_v) in zip(
                self.msa, torch.chunk(f_attn, 4, dim=1), self.type_sizes, SKATE_TYPES):
            windows, shape, perm = skate_partition(
                chunk, size, distant_t, distant_v,
                dtype=msa.window_dtype(chunk))
            branches.append(skate_reverse(msa(windows), shape, perm, t, v))
        y = self.proj_drop(self.out_proj(torch.cat(branches, dim=-1)))
        y = skip + self.drop_path(y)
        y = y + self.drop_path(self.mlp(self.norm2(y)))
        return y.permute(0, 3, 1, 2)


class TemporalDownsample(nn.Module):
    """Stride-2 temporal (k x 1) convolution and BatchNorm between stages."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 7):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, (kernel_size, 1), stride=(2, 1),
                              padding=((kernel_size - 1) // 2, 0))
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class SkateFormerStage(nn.Module):
    """An optional :class:`TemporalDownsample` followed by ``depth`` blocks."""

    def __init__(self, in_channels: int, channels: int, depth: int, downsample: bool,
                 drop_paths: Sequence[float], kernel_size: int = 7, **block_kwargs):
        super().__init__()
        self.downsample = TemporalDownsample(in_channels, channels, kernel_size) \
            if downsample else None
        self.blocks = nn.ModuleList(
            SkateFormerBlock(channels, kernel_size=kernel_size, drop_path=drop_paths[i],
                             **block_kwargs)
            for i in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample is not None:
            x = self.downsample(x)
        for block in self.blocks:
            x = block(x)
        return x


class SkateEmbedding(nn.Module):
    """Skate-Embedding: 1x1-conv stem plus the skeletal-temporal positional embedding."""

    def __init__(self, in_channels: int, embed_dim: int, num_points: int,
                 temporal_embedding: str = "index_t", num_frames: int = 64):
        super().__init__()
        if embed_dim % 2:
            raise ValueError(f"embed_dim must be even for the sinusoidal encoding, got {embed_dim}")
        self.embed_dim = embed_dim
        self.temporal_embedding = temporal_embedding
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 2 * in_channels, 1), nn.GELU(),
            nn.Conv2d(2 * in_channels, 3 * in_channels, 1), nn.GELU(),
            nn.Conv2d(3 * in_channels, embed_dim, 1),
        )
        if temporal_embedding == "index_t":
            self.joint_person_embedding = nn.Parameter(torch.zeros(embed_dim, num_points))
            nn.init.trunc_normal_(self.joint_person_embedding, std=0.02)
        elif temporal_embedding == "learned":
            self.joint_person_temporal_embedding = nn.Parameter(
                torch.zeros(1, embed_dim, num_frames, num_points))
            nn.init.trunc_normal_(self.joint_person_temporal_embedding, std=0.02)
        else:
            raise ValueError(f"temporal_embedding must be 'index_t' or 'learned', "
                             f"got {temporal_embedding!r}")

    def sinusoid(self, index_t: torch.Tensor) -> torch.Tensor:
        """Transformer sin/cos encoding [B, T, D] of frame positions ``index_t`` [B, T]."""
        steps = torch.arange(0, self.embed_dim, 2, dtype=torch.float32, device=index_t.device)
        freqs = torch.exp(steps * (-math.log(10000.0) / self.embed_dim))
        angles = index_t.float().unsqueeze(-1) * freqs
        return torch.stack((angles.sin(), angles.cos()), dim=-1).flatten(-2)

    def forward(self, x: torch.Tensor, index_t: torch.Tensor | None) -> torch.Tensor:
        x = self.stem(x)
        if self.temporal_embedding == "learned":
            if x.shape[2] != self.joint_person_temporal_embedding.shape[2]:
                raise ValueError(f"the learned temporal embedding fixes T="
                                 f"{self.joint_person_temporal_embedding.shape[2]}, "
                                 f"got T={x.shape[2]}")
            return x + self.joint_person_temporal_embedding
        te = self.sinusoid(index_t).to(x.dtype)
        return x + torch.einsum("btc,cv->bctv", te, self.joint_person_embedding)


def default_index_t(batch: int, num_frames: int, device=None) -> torch.Tensor:
    """Frame positions ``2 i / T - 1`` (i = 0..T-1). The official feeders give each frame
    ``2 s / L - 1`` (``s`` its index in the source, ``L`` the valid frames); for a clip taking
    every ``L/T``-th frame of the whole sequence (``s = i L / T``, e.g. ``valid_crop_uniform``
    with ``p_interval=[1]``, or any feeder when ``L = T``) that is this default."""
    return (2.0 * torch.arange(num_frames, device=device) / num_frames - 1.0).expand(batch, -1)


@MODELS.register_module()
class SkateFormer(nn.Module):
    """SkateFormer backbone (Do & Kim, "SkateFormer: Skeletal-Temporal Transformer for Human
    Action Recognition", ECCV 2024), as the official ``SkateFormer_``.

    Input x [N, M, T, V, C] in the zoo ``layout``; optional ``index_t`` [N, T] (each frame's
    position in its source sequence, in [-1, 1]; default :func:`default_index_t`). Output
    [N, M, C_last, T / 2^(stages-1), V'] with V' joints in Skate order.

    Args:
        layout: zoo layout name; picks the joint order from :data:`SKATE_PARTITIONS`.
        num_persons: M (the official ``num_people``).
        joint_order: override the Skate order (zoo joint indices, body parts end to end).
        type_sizes: four (frames, joints) window sizes of Skate-Types 1-4; default
            :func:`default_type_sizes` (the official configs for NTU and NW-UCLA).
        temporal_embedding: ``'index_t'`` (official configs) or ``'learned'`` (fixed T).
        attn_drop, drop_path: defaults are the official configs' 0.5 and 0.2.
    """

    def __init__(self, layout: str = "ntu25", num_persons: int = 2, in_channels: int = 3,
                 embed_dim: int = 96, channels: Sequence[int] = (96, 192, 192, 192),
                 depths: Sequence[int] = (2, 2, 2, 2), num_heads: int = 32,
                 kernel_size: int = 7, type_sizes: Sequence[Sequence[int]] | None = None,
                 joint_order: Sequence[int] | None = None, mlp_ratio: float = 4.0,
                 attn_drop: float = 0.5, drop: float = 0.0, drop_path: float = 0.2,
                 rel_bias: bool = True, temporal_embedding: str = "index_t",
                 num_frames: int = 64):
        super().__init__()
        self.layout = get_layout(layout)
        if joint_order is None:
            if layout not in SKATE_PARTITIONS:
                raise KeyError(f"no Skate partition for layout {layout!r} (known: "
                               f"{sorted(SKATE_PARTITIONS)}); pass joint_order and type_sizes")
            joint_order = SKATE_PARTITIONS[layout].order
        joint_order = tuple(int(j) for j in joint_order)
        bad = [j for j in joint_order if not 0 <= j < self.layout.num_joints]
        if bad or len(set(joint_order)) != len(joint_order):
            raise ValueError(f"joint_order must list distinct joints of {layout!r} "
                             f"(0..{self.layout.num_joints - 1}), got {joint_order}")
        if type_sizes is None:
            if layout not in SKATE_PARTITIONS:
                raise ValueError("type_sizes is required with a custom layout")
            type_sizes = default_type_sizes(SKATE_PARTITIONS[layout], num_persons)
        self.type_sizes = tuple(tuple(int(s) for s in size) for size in type_sizes)
        if len(self.type_sizes) != 4 or any(len(s) != 2 for s in self.type_sizes):
            raise ValueError(f"type_sizes needs four (frames, joints) pairs, got {type_sizes}")
        if len(depths) != len(channels) or embed_dim != channels[0]:
            raise ValueError(f"need one depth per stage and embed_dim == channels[0]; got "
                             f"depths={depths}, channels={channels}, embed_dim={embed_dim}")
        self.num_persons = num_persons
        self.in_channels = in_channels
        self.out_channels = channels[-1]
        self.register_buffer("joint_order", torch.tensor(joint_order), persistent=False)
        num_points = num_persons * len(joint_order)
        for i, (_, joints) in enumerate(self.type_sizes):
            if num_points % joints:
                raise ValueError(f"Skate-Type {i + 1} joint window {joints} does not divide "
                                 f"the M*V'={num_points} joint tokens")

        self.embedding = SkateEmbedding(in_channels, embed_dim, num_points, temporal_embedding,
                                        num_frames)
        rates = torch.linspace(0.0, drop_path, sum(depths)).tolist()
        stages, start, prev = [], 0, embed_dim
        for i, (depth, width) in enumerate(zip(depths, channels)):
            stages.append(SkateFormerStage(
                prev, width, depth, downsample=i > 0, drop_paths=rates[start:start + depth],
                kernel_size=kernel_size, num_points=num_points, num_heads=num_heads,
                type_sizes=self.type_sizes, mlp_ratio=mlp_ratio, attn_drop=attn_drop,
                drop=drop, rel_bias=rel_bias))
            start, prev = start + depth, width
        self.stages = nn.ModuleList(stages)

    def check_frames(self, t: int) -> None:
        """Raise if a Skate-Type's frame window does not divide some stage's T."""
        for stage in range(len(self.stages)):
            for i, (frames, _) in enumerate(self.type_sizes):
                if t % frames:
                    raise ValueError(
                        f"SkateFormer: stage {stage + 1} has T={t} frames, not divisible by "
                        f"Skate-Type {i + 1}'s window of {frames} frames (use T = "
                        f"{frames} * 2^{len(self.stages) - 1} * k frames)")
            t = (t + 1) // 2

    def forward(self, x: torch.Tensor, index_t: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f"SkateFormer expects x [N, M, T, V, C], got {tuple(x.shape)}")
        n, m, t, v, c = x.shape
        if (m, v, c) != (self.num_persons, self.layout.num_joints, self.in_channels):
            raise ValueError(
                f"SkateFormer({self.layout.name!r}) expects M={self.num_persons}, "
                f"V={self.layout.num_joints}, C={self.in_channels}; got M={m}, V={v}, C={c}")
        self.check_frames(t)
        if index_t is None:
            index_t = default_index_t(n, t, x.device)
        elif index_t.shape != (n, t):
            raise ValueError(f"index_t must be [N, T] = {(n, t)}, got {tuple(index_t.shape)}")
        x = x.index_select(3, self.joint_order)  # zoo layout -> Skate partition order
        vs = x.shape[3]
        x = x.permute(0, 4, 2, 1, 3).reshape(n, c, t, m * vs)  # person-major joint tokens
        x = self.embedding(x, index_t)
        for stage in self.stages:
            x = stage(x)
        _, c_out, t_out, _ = x.shape
        return x.reshape(n, c_out, t_out, m, vs).permute(0, 3, 1, 2, 4)
