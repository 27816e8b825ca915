"""Ensemble of residual 1-D CNNs (Ensem-NN) for skeleton action recognition.

Xu & Wang, "Ensemble One-dimensional Convolution Neural Networks for Skeleton-based Action
Recognition", arXiv:1801.02475 (2018); IEEE Signal Processing Letters 25(7), 2018.

Facts taken from the authors' Keras code (github.com/Qingyang-Xu/Ensem-NN), re-implemented:

* **Base-Net** (``train_ordinary.py``): a skeleton sequence is a 1-D signal over time whose
  channels are all coordinates of all joints of all bodies (NTU: 2 x 25 x 3 = 150). A
  ``Conv1d(F, 64, 8)`` stem, then nine ``Conv1d(k=8) - BN - ReLU - Dropout`` layers with
  64, 64, 64, 128 (stride 2), 128, 128, 256 (stride 2), 256, 256 channels; every group of three
  layers is residual (the group input is added to its output, through a stride-2 1x1
  convolution where the width changes); final BN-ReLU, global average pooling over time,
  one linear classifier. Convolutions use TensorFlow's ``'same'`` padding.
* **Two-stream net** (``train_two_stream.py``): a temporal stream (Base-Net over time) and a
  spatial stream (Base-Net over the coordinate axis, the frames being the channels, so the
  clip length is fixed); the two softmax outputs are multiplied and renormalised.
* **Body-part net** (``train_hier.py``): five Base-Nets on the five body parts (two arms,
  two legs, trunk), fused by the renormalised product of their softmax outputs.
* **Attention net** (``train_attention.py``): an input attention per frame
  (``Linear(F, 300) - tanh - Linear(300, F) - softmax`` over the F channels) scales the
  coordinates; pre-activation residual groups (BN - ReLU - Dropout - Conv); after each group a
  temporal attention (``Linear(C, 2C) - ReLU - Linear(2C, 1)``, softmax over time) weights the
  frames; no final BN-ReLU (kept here by default, see ``attention_final_norm``).
* **Frame-difference net** (``train_differ.py``): the Base-Net, dropout 0.3, on the frame
  differences ``x[t+1] - x[t]``.
* **Ensemble**: the sub-networks are trained independently; at test time their softmax
  scores are averaged (late fusion).

Deviations, all documented: the official temporal-attention softmax is taken over an axis of
size one (so it is the constant 1); here it is taken over time as the paper describes, and
both attention maps are multiplied by their length so the mean weight is 1. The L1 weight
penalty (1e-4) of the official code is left to the optimiser's weight decay.

Zoo API: :class:`EnsembleCNN1D` (backbone, input ``[N, M, T, V, C]``) returns the pooled
features of its streams ``[N, S, D]``; :class:`EnsembleCNN1DHead` classifies each stream and
fuses them (product within a sub-network, mean of softmax across sub-networks) and returns
the log of the fused probabilities, so ``softmax`` of its output is exactly the ensemble's
score and the plain ``SkeletonRecognizer`` works. :class:`EnsembleCNN1DRecognizer` adds the
paper's training: one cross-entropy per sub-network (independent training).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from zoo.registry import MODELS
from zoo.structures import gather_labels

from ..classifiers import SkeletonRecognizer
from .graph import get_layout

SUBNETS = ("two_stream", "body_part", "attention", "frame_diff")

# Five body parts per layout (0-based joints): arm, arm, leg, leg, trunk. For NTU-25 these are
# the official ``train_hier.py`` partition (1-based there: 9-12,24,25 / 5-8,22,23 / 17-20 /
# 13-16 / 1,2,21,3,4).
BODY_PARTS = {
    "ntu25": ((8, 9, 10, 11, 24, 23), (4, 5, 6, 7, 22, 21), (16, 17, 18, 19),
              (12, 13, 14, 15), (0, 1, 20, 2, 3)),
    "kinect20": ((8, 9, 10, 11), (4, 5, 6, 7), (16, 17, 18, 19), (12, 13, 14, 15),
                 (0, 1, 2, 3)),
    "coco17": ((6, 8, 10), (5, 7, 9), (12, 14, 16), (11, 13, 15), (0, 1, 2, 3, 4)),
    "openpose18": ((2, 3, 4), (5, 6, 7), (8, 9, 10), (11, 12, 13), (0, 1, 14, 15, 16, 17)),
}


class SameConv1d(nn.Conv1d):
    """``Conv1d`` with TensorFlow's ``'same'`` padding (also for stride 2): output length
    ``ceil(T / stride)``, the extra padding on the right."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size[0], self.stride[0]
        length = x.shape[-1]
        total = max((math.ceil(length / s) - 1) * s + k - length, 0)
        return super().forward(F.pad(x, (total // 2, total - total // 2)))


def _conv(cin: int, cout: int, k: int, stride: int = 1) -> SameConv1d:
    conv = SameConv1d(cin, cout, k, stride=stride)
    nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")  # Keras he_normal
    nn.init.zeros_(conv.bias)
    return conv


class TemporalAttention(nn.Module):
    """Frame weights ``T * softmax_t(w2 relu(w1 x_t))`` of ``[N, C, T]`` features."""

    def __init__(self, channels: int):
        super().__init__()
        self.score = nn.Sequential(nn.Linear(channels, 2 * channels), nn.ReLU(),
                                   nn.Linear(2 * channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        score = self.score(x.transpose(1, 2)).squeeze(-1)  # [N, T]
        return score.softmax(-1).unsqueeze(1) * x.shape[-1]


class ResCNN1d(nn.Module):
    """Base-Net of Ensem-NN (Xu & Wang 2018): residual 1-D CNN over time.

    Input ``[N, F, T]`` (F channels = joints x coordinates x bodies), output features
    ``[N, 4 * base_channels, ceil(T / 4)]``.

    Args:
        in_channels: F.
        base_channels: width of the first group (64 in the paper; 128 and 256 follow).
        kernel_size: temporal kernel (8).
        dropout: after every ReLU (0 for most sub-networks, 0.3 for frame differences).
        preact: BN-ReLU-Dropout before each convolution (the attention net) instead of after.
        temporal_attention: weight frames after each residual group (the attention net).
        final_norm: BN-ReLU before pooling (all but the attention net).
    """

    def __init__(self, in_channels: int, base_channels: int = 64, kernel_size: int = 8,
                 dropout: float = 0.0, preact: bool = False,
                 temporal_attention: bool = False, final_norm: bool = True):
        super().__init__()
        b = base_channels
        widths = (b, b, b, 2 * b, 2 * b, 2 * b, 4 * b, 4 * b, 4 * b)
        strides = (1, 1, 1, 2, 1, 1, 2, 1, 1)
        self.preact = preact
        self.out_channels = widths[-1]
        self.stem = _conv(in_channels, b, kernel_size)
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        cin = b
        for width, stride in zip(widths, strides):
            self.convs.append(_conv(cin, width, kernel_size, stride))
            self.norms.append(nn.BatchNorm1d(cin if preact else width))
            cin = width
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.shortcuts = nn.ModuleList()
        self.attention = nn.ModuleList()
        group_in = b
        for g in range(3):
            width, stride = widths[3 * g], strides[3 * g]
            self.shortcuts.append(nn.Identity() if (group_in == width and stride == 1)
                                  else _conv(group_in, width, 1, stride))
            if temporal_attention:
                self.attention.append(TemporalAttention(width))
            group_in = width
        self.final = nn.Sequential(nn.BatchNorm1d(cin), nn.ReLU()) if final_norm \
            else nn.Identity()

    def _layer(self, i: int, x: torch.Tensor) -> torch.Tensor:
        if self.preact:
            return self.convs[i](self.drop(F.relu(self.norms[i](x))))
        return self.drop(F.relu(self.norms[i](self.convs[i](x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for g in range(3):
            branch = x
            for i in range(3 * g, 3 * g + 3):
                branch = self._layer(i, branch)
            out = self.shortcuts[g](x) + branch
            if self.attention:
                out = out * self.attention[g](branch)
            x = out
        return self.final(x)


class InputAttention(nn.Module):
    """Per-frame channel weights ``F * softmax_f(w2 tanh(w1 x_t))`` applied to ``[N, F, T]``."""

    def __init__(self, channels: int, hidden: int = 300):
        super().__init__()
        self.score = nn.Sequential(nn.Linear(channels, hidden), nn.Tanh(),
                                   nn.Linear(hidden, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.score(x.transpose(1, 2)).softmax(-1).transpose(1, 2)
        return x * weights * x.shape[1]


@MODELS.register_module()
class EnsembleCNN1D(nn.Module):
    """The four Ensem-NN sub-networks (Xu & Wang 2018) side by side.

    Input ``[N, M, T, V, C]``; output the time-pooled features of every stream ``[N, S, D]``
    (``D = 4 * base_channels``) in the order of :attr:`groups`: two-stream (temporal,
    spatial), body-part (five parts), attention, frame-difference.

    Args:
        in_channels: C (3 for 3-D joints, 2 or 3 for 2-D keypoints with scores).
        layout: joint layout (for the body parts and V).
        num_person: M bodies (their coordinates are concatenated into the channels).
        num_frames: clip length T (fixed: the spatial stream uses the frames as channels).
        base_channels: Base-Net width (64 in the paper).
        subnets: which of ``two_stream``, ``body_part``, ``attention``, ``frame_diff``.
        dropout: dropout of the Base-Nets; ``diff_dropout`` that of the frame-difference net.
        attention_hidden: hidden size of the input attention (300 in the official code).
        attention_final_norm: BN-ReLU before pooling in the attention net too. The official
            attention net has none; without it training diverged (loss > 1000 at epoch 3 of
            the MSR Action3D config), so the default keeps it.
        body_parts: joint groups overriding :data:`BODY_PARTS` of the layout.
    """

    def __init__(self, in_channels: int = 3, layout: str = "ntu25", num_person: int = 2,
                 num_frames: int = 64, base_channels: int = 64,
                 subnets: Sequence[str] = SUBNETS, dropout: float = 0.0,
                 diff_dropout: float = 0.3, attention_hidden: int = 300,
                 attention_final_norm: bool = True,
                 body_parts: Sequence[Sequence[int]] | None = None):
        super().__init__()
        unknown = set(subnets) - set(SUBNETS)
        if unknown or not subnets:
            raise KeyError(f"unknown Ensem-NN sub-network(s) {sorted(unknown)}; "
                           f"choose from {SUBNETS}")
        self.num_joints = get_layout(layout).num_joints
        self.in_channels, self.num_person, self.num_frames = in_channels, num_person, num_frames
        self.subnets = tuple(s for s in SUBNETS if s in subnets)
        feat = num_person * self.num_joints * in_channels
        if body_parts is None:
            if layout not in BODY_PARTS:
                raise KeyError(f"no body parts for layout {layout!r}; pass body_parts")
            body_parts = BODY_PARTS[layout]
        self.body_parts = tuple(tuple(int(j) for j in p) for p in body_parts)
        kw = dict(base_channels=base_channels, dropout=dropout)
        self.streams = nn.ModuleDict()
        self.groups: list[tuple[str, int]] = []
        if "two_stream" in self.subnets:
            self.streams["temporal"] = ResCNN1d(feat, **kw)
            self.streams["spatial"] = ResCNN1d(num_frames, **kw)
            self.groups.append(("two_stream", 2))
        if "body_part" in self.subnets:
            for k, part in enumerate(self.body_parts):
                self.streams[f"part{k}"] = ResCNN1d(num_person * len(part) * in_channels, **kw)
            self.groups.append(("body_part", len(self.body_parts)))
        if "attention" in self.subnets:
            self.input_attention = InputAttention(feat, attention_hidden)
            self.streams["attention"] = ResCNN1d(feat, preact=True, temporal_attention=True,
                                                 final_norm=attention_final_norm, **kw)
            self.groups.append(("attention", 1))
        if "frame_diff" in self.subnets:
            self.streams["frame_diff"] = ResCNN1d(feat, base_channels=base_channels,
                                                  dropout=diff_dropout)
            self.groups.append(("frame_diff", 1))
        self.out_channels = 4 * base_channels

    def _check(self, x: torch.Tensor) -> None:
        want = (self.num_person, self.num_frames, self.num_joints, self.in_channels)
        if x.dim() != 5 or tuple(x.shape[1:]) != want:
            dims = ", ".join(map(str, want))
            raise ValueError(f"EnsembleCNN1D expects [N, M, T, V, C] = [N, {dims}], got "
                             f"{tuple(x.shape)} (set num_person/num_frames/in_channels)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        n, m, t, v, c = x.shape
        seq = x.permute(0, 1, 3, 4, 2).reshape(n, m * v * c, t)  # [N, F, T]
        feats = []
        if "two_stream" in self.subnets:
            feats.append(self.streams["temporal"](seq))
            feats.append(self.streams["spatial"](seq.transpose(1, 2).contiguous()))
        if "body_part" in self.subnets:
            for k, part in enumerate(self.body_parts):
                sub = x[:, :, :, list(part)].permute(0, 1, 3, 4, 2).reshape(n, -1, t)
                feats.append(self.streams[f"part{k}"](sub))
        if "attention" in self.subnets:
            feats.append(self.streams["attention"](self.input_attention(seq)))
        if "frame_diff" in self.subnets:
            diff = F.pad(seq[..., 1:] - seq[..., :-1], (0, 1))
            feats.append(self.streams["frame_diff"](diff))
        return torch.stack([f.mean(-1) for f in feats], 1)


class StreamLinear(nn.Module):
    """One linear classifier per stream: ``[N, S, D] -> [N, S, K]``."""

    def __init__(self, num_streams: int, in_features: int, out_features: int):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(num_streams, out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(num_streams, out_features))
        nn.init.kaiming_normal_(self.weight)  # Keras he_normal (fan_in = D)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("nsd,skd->nsk", x, self.weight) + self.bias


@MODELS.register_module()
class EnsembleCNN1DHead(nn.Module):
    """Late fusion of Ensem-NN (Xu & Wang 2018).

    Each stream gets its own linear classifier; within a sub-network the softmax outputs are
    multiplied and renormalised (two-stream, body-part nets); across sub-networks the softmax
    scores are averaged. ``forward`` returns ``log`` of the fused probabilities ``[N, K]``.

    Args:
        in_channels: D of the backbone features ``[N, S, D]``.
        num_classes: K.
        groups: ``(name, number of streams)`` per sub-network, as the backbone's ``groups``.
        dropout: on the pooled features.
    """

    def __init__(self, in_channels: int, num_classes: int,
                 groups: Sequence[Sequence] = (("two_stream", 2), ("body_part", 5),
                                               ("attention", 1), ("frame_diff", 1)),
                 dropout: float = 0.0):
        super().__init__()
        self.groups = [(str(name), int(size)) for name, size in groups]
        self.num_streams = sum(size for _, size in self.groups)
        self.in_channels, self.num_classes = in_channels, num_classes
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = StreamLinear(self.num_streams, in_channels, num_classes)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """Embedding ``[N, S * D]`` (the streams' pooled features side by side)."""
        if x.dim() != 3 or x.shape[1:] != (self.num_streams, self.in_channels):
            raise ValueError(f"EnsembleCNN1DHead expects [N, {self.num_streams}, "
                             f"{self.in_channels}] stream features (groups {self.groups}), "
                             f"got {tuple(x.shape)}")
        return x.flatten(1)

    def group_log_probs(self, x: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of every sub-network ``[N, G, K]`` from features ``[N, S, D]``."""
        emb = self.pool(x).reshape(x.shape)
        logp = self.fc(self.dropout(emb)).log_softmax(-1)
        out, start = [], 0
        for _, size in self.groups:
            out.append(logp[:, start:start + size].sum(1).log_softmax(-1))
            start += size
        return torch.stack(out, 1)

    def classify(self, embedding: torch.Tensor) -> torch.Tensor:
        x = embedding.reshape(len(embedding), self.num_streams, self.in_channels)
        g = self.group_log_probs(x)
        return torch.logsumexp(g, 1) - math.log(g.shape[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.pool(x))


@MODELS.register_module()
class EnsembleCNN1DRecognizer(SkeletonRecognizer):
    """``SkeletonRecognizer`` trained as Ensem-NN is: the loss is the sum of one
    cross-entropy per sub-network (independent training, since they share no parameters);
    prediction is the head's late fusion (mean of the sub-networks' softmax scores).
    The per-sub-network losses are logged as ``ce_<name>``."""

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = "tensor"):
        if mode != "loss":
            return super().forward(inputs, data_samples, mode)
        labels = gather_labels(data_samples, inputs.device)
        flat, clips = self._flatten_clips(inputs)
        groups = self.cls_head.group_log_probs(self.backbone(flat))
        groups = groups.reshape(-1, clips, *groups.shape[1:]).mean(1)
        out, total = {}, 0.0
        for g, (name, _) in enumerate(self.cls_head.groups):
            loss = F.nll_loss(groups[:, g], labels)
            out[f"ce_{name}"] = loss.detach()
            total = total + loss
        out["loss_cls"] = total
        return out

    def subnet_scores(self, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Softmax scores ``[N, K]`` of every sub-network (clips averaged) and of the fusion."""
        flat, clips = self._flatten_clips(inputs)
        probs = self.cls_head.group_log_probs(self.backbone(flat)).exp()
        probs = probs.reshape(-1, clips, *probs.shape[1:]).mean(1)
        out = {name: probs[:, g] for g, (name, _) in enumerate(self.cls_head.groups)}
        out["fusion"] = probs.mean(1)
        return out
