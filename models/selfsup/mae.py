"""Masked joint reconstruction on the skeleton graph (SkeletonMAE-style pre-training)."""
from __future__ import annotations

import numpy as np
import torch
from mmengine.model import BaseModel
from torch import nn
from zoo.models.skeleton.graph import get_layout

from zoo.registry import MODELS

from .common import backbone_channels, first_clip, pool_skeleton


def random_mask(n: int, t: int, v: int, ratio: float, unit: str = "joint",
                device=None) -> torch.Tensor:
    """Boolean mask ``[N, T, V]`` (True = masked). ``unit='joint'``: ``round(ratio * V)``
    joints of each sample masked in every frame (graph node masking); ``'token'``:
    ``round(ratio * T * V)`` of each sample's (frame, joint) tokens."""
    if unit == "joint":
        k = int(round(ratio * v))
        rank = torch.rand(n, v, device=device).argsort(-1).argsort(-1)
        return (rank < k)[:, None, :].expand(n, t, v).clone()
    if unit == "token":
        k = int(round(ratio * t * v))
        rank = torch.rand(n, t * v, device=device).argsort(-1).argsort(-1)
        return (rank < k).view(n, t, v)
    raise ValueError(f"mask unit must be 'joint' or 'token', got {unit!r}")


class GINDecoder(nn.Module):
    """One GIN layer on the skeleton graph (Xu et al., ICLR 2019; SkeletonMAE's decoder):
    ``h_v' = MLP((1 + eps) h_v + sum_{u ~ v} h_u)``, then a linear map of each (frame, joint)
    feature to ``temporal_stride * out_channels`` coordinates, unfolded back to the input
    frame rate. Input ``[N, M, C, T', V]``, output ``[N, M, T' * stride, V, out_channels]``."""

    def __init__(self, in_channels: int, out_channels: int, layout: str,
                 temporal_stride: int = 1, hidden: int | None = None):
        super().__init__()
        lay = get_layout(layout)
        adj = np.zeros((lay.num_joints, lay.num_joints), dtype=np.float32)
        for a, b in lay.bones:
            adj[a, b] = adj[b, a] = 1
        self.register_buffer("adj", torch.from_numpy(adj))
        self.eps = nn.Parameter(torch.zeros(1))
        hidden = hidden or in_channels
        self.mlp = nn.Sequential(nn.Linear(in_channels, hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, hidden))
        self.out = nn.Linear(hidden, temporal_stride * out_channels)
        self.stride, self.out_channels = temporal_stride, out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, m, c, t, v = x.shape
        h = x.permute(0, 1, 3, 4, 2)  # N, M, T', V, C
        h = (1 + self.eps) * h + torch.einsum("uv,nmtvc->nmtuc", self.adj, h)
        out = self.out(self.mlp(h))  # N, M, T', V, stride * C_out
        out = out.view(n, m, t, v, self.stride, self.out_channels).permute(0, 1, 2, 4, 3, 5)
        return out.reshape(n, m, t * self.stride, v, self.out_channels)


@MODELS.register_module()
class SkeletonMAE(BaseModel):
    """Masked joint reconstruction pre-training for any skeleton backbone, after SkeletonMAE
    (Yan, Liu, Wei, Li, Li & Lin, "SkeletonMAE: Graph-based Masked Autoencoder for Skeleton
    Sequence Pre-training", ICCV 2023) and the spatial-temporal masking of Wu et al.
    ("SkeletonMAE: Spatial-Temporal Masked Autoencoders for Self-supervised Skeleton Action
    Recognition", ICME workshops 2023). Neither paper's code is public (the official
    repository HongYan1123/SkeletonMAE holds only a README), so this follows the papers and
    GraphMAE, whose design SkeletonMAE adopts:

    * a share ``mask_ratio`` of the joints (``mask_unit='joint'``: the same joints in every
      frame, graph node masking; ``'token'``: (frame, joint) tokens) is replaced by a
      learnable ``mask_token`` ``[C]`` in the input ``[N, M, T, V, C]``;
    * the encoder is any zoo skeleton backbone (``[N, M, C', T', V]`` out); with joint
      masking its features at the masked joints are zeroed again before decoding
      (GraphMAE's re-mask);
    * a one-layer GIN decoder on the skeleton graph (:class:`GINDecoder`) predicts the input
      coordinates, ``temporal_stride = T / T'`` frames per output step;
    * the loss (``MaskedReconstructionLoss``, MSE or SCE) is taken on the masked positions
      only; the target is the unmasked input.

    ``backbone.*`` in the checkpoint is the encoder that any skeleton recogniser config
    loads with ``load_from``.
    """

    def __init__(self, backbone: dict, layout: str, in_channels: int = 3,
                 temporal_stride: int = 1, feat_channels: int | None = None,
                 mask_ratio: float = 0.4, mask_unit: str = "joint",
                 decoder_hidden: int | None = None, loss: dict | None = None,
                 data_preprocessor: dict | None = None, init_cfg: dict | None = None):
        super().__init__(data_preprocessor=data_preprocessor or
                         dict(type="StackDataPreprocessor"), init_cfg=init_cfg)
        if not 0 < mask_ratio < 1:
            raise ValueError(f"SkeletonMAE mask_ratio must be in (0, 1), got {mask_ratio}")
        if mask_unit not in ("joint", "token"):
            raise ValueError(f"SkeletonMAE mask_unit must be 'joint' or 'token', got "
                             f"{mask_unit!r}")
        self.backbone = MODELS.build(backbone)
        channels = backbone_channels(self.backbone, feat_channels)
        self.decoder = GINDecoder(channels, in_channels, layout, temporal_stride,
                                  decoder_hidden)
        self.mask_token = nn.Parameter(torch.zeros(in_channels))
        self.mask_ratio, self.mask_unit = mask_ratio, mask_unit
        self.loss_fn = MODELS.build(loss or dict(type="MaskedReconstructionLoss", kind="mse"))

    def embed(self, inputs: torch.Tensor) -> torch.Tensor:
        """Pooled backbone features ``[N, C]`` of unmasked ``[N, M, T, V, C]`` clips."""
        return pool_skeleton(self.backbone(inputs))

    def mask_input(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(masked input, mask [N, T, V])``: masked joints of ``[N, M, T, V, C]`` hold
        ``mask_token``."""
        n, m, t, v, c = x.shape
        mask = random_mask(n, t, v, self.mask_ratio, self.mask_unit, x.device)
        token = self.mask_token.to(x.dtype).expand_as(x)
        return torch.where(mask[:, None, :, :, None], token, x), mask

    def reconstruct(self, masked: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        feats = self.backbone(masked)  # N, M, C', T', V
        if self.mask_unit == "joint":
            keep = (~mask[:, 0]).to(feats.dtype)  # N, V: same joints in every frame
            feats = feats * keep[:, None, None, None, :]
        pred = self.decoder(feats)
        if pred.shape[2] != masked.shape[2]:
            raise ValueError(
                f"SkeletonMAE: the decoder gives {pred.shape[2]} frames for {masked.shape[2]} "
                f"input frames; set temporal_stride to the backbone's temporal downsampling "
                f"(input T / feature T')")
        return pred

    def loss(self, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        x = first_clip(inputs)
        masked, mask = self.mask_input(x)
        pred = self.reconstruct(masked, mask)
        full_mask = mask[:, None].expand(-1, x.shape[1], -1, -1)
        return {"loss_rec": self.loss_fn(pred, x, full_mask)}

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = "tensor"):
        if mode == "loss":
            return self.loss(inputs)
        if mode == "tensor":
            return self.embed(first_clip(inputs))
        raise ValueError(f"SkeletonMAE is a pre-training model: mode must be 'loss' or "
                         f"'tensor', got {mode!r}")
