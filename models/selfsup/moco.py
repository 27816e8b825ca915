"""MoCo-style skeleton pre-training: query encoder, momentum key encoder and key queue, the
base of HiCLR and HaLP."""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import nn

from zoo.registry import MODELS

from .common import backbone_channels, pool_skeleton, projector


def momentum_update(online: nn.Module, target: nn.Module, momentum: float) -> None:
    """``theta_k <- m theta_k + (1 - m) theta_q`` for every parameter pair (MoCo, HiCLR's
    ``_momentum_update_key_encoder``)."""
    with torch.no_grad():
        for q, k in zip(online.parameters(), target.parameters()):
            k.mul_(momentum).add_(q.detach(), alpha=1 - momentum)


@MODELS.register_module()
class SkeletonMoCo(BaseModel):
    """MoCo v2 on skeleton clips (He et al., CVPR 2020; Chen et al. 2020 for the MLP head),
    as the single-modality baseline of HaLP's official code (``moco/builder_single_modality_
    baseline.py``) with any zoo skeleton backbone as the encoder.

    A query encoder (``backbone`` + MLP ``neck``) and its momentum copy (``backbone_k``,
    ``neck_k``), a ring queue of ``queue_size`` normalised keys. Inputs are two views of
    :class:`~zoo.datasets.transforms.skeleton_aug.MultiViewSkeleton`,
    ``[N, views >= 2, clips, M, T, V, C]`` (query, key; further views are ignored here). The
    loss is ``InfoNCELoss`` of the query against its key with the queue as negatives; the key
    encoder moves before the keys are computed and the keys enter the queue after the loss.
    ``backbone.*`` in the checkpoint is the encoder for ``load_from``.
    """

    def __init__(self, backbone: dict, feat_channels: int | None = None,
                 feature_dim: int = 128, hidden_dim: int | None = None,
                 queue_size: int = 32768, momentum: float = 0.999,
                 loss: dict | None = None, data_preprocessor: dict | None = None,
                 init_cfg: dict | None = None):
        super().__init__(data_preprocessor=data_preprocessor or
                         dict(type="StackDataPreprocessor"), init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        channels = backbone_channels(self.backbone, feat_channels)
        self.neck = projector(channels, hidden_dim, feature_dim)
        self.backbone_k = copy.deepcopy(self.backbone)
        self.neck_k = copy.deepcopy(self.neck)
        for p in list(self.backbone_k.parameters()) + list(self.neck_k.parameters()):
            p.requires_grad = False
        self.momentum = momentum
        self.loss_fn = MODELS.build(loss or self.default_loss())
        self.register_buffer("queue", F.normalize(torch.randn(queue_size, feature_dim), dim=1))
        self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))

    @staticmethod
    def default_loss() -> dict:
        return dict(type="InfoNCELoss", temperature=0.07)

    # --- encoders ---------------------------------------------------------------------------
    def embed(self, inputs: torch.Tensor) -> torch.Tensor:
        """Pooled backbone features ``[N, C]`` of ``[N, M, T, V, C]`` clips (no projector)."""
        return pool_skeleton(self.backbone(inputs))

    def project(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.neck(self.embed(inputs))

    @torch.no_grad()
    def project_key(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.neck_k(pool_skeleton(self.backbone_k(inputs)))

    def momentum_update(self) -> None:
        momentum_update(self.backbone, self.backbone_k, self.momentum)
        momentum_update(self.neck, self.neck_k, self.momentum)

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        """Write ``keys [B, D]`` over the oldest queue entries (ring buffer from
        ``queue_ptr``, wrapping around) and advance the pointer by ``B``."""
        size = len(self.queue)
        keys = keys[-size:]
        ptr = int(self.queue_ptr)
        idx = (ptr + torch.arange(len(keys), device=keys.device)) % size
        self.queue[idx] = keys.to(self.queue.dtype)
        self.queue_ptr[0] = (ptr + len(keys)) % size

    def newest_keys(self, count: int) -> torch.Tensor:
        """The ``min(count, queue_size)`` most recently enqueued keys (oldest first)."""
        size = len(self.queue)
        count = min(count, size)
        idx = (int(self.queue_ptr) - count + torch.arange(count, device=self.queue.device)) % size
        return self.queue[idx]

    # --- mmengine API -----------------------------------------------------------------------
    def _views(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        if inputs.dim() != 7 or inputs.shape[1] < 2:
            raise ValueError(
                f"{type(self).__name__} expects [N, views >= 2, clips, M, T, V, C] inputs "
                f"(MultiViewSkeleton with query and key views), got {tuple(inputs.shape)}")
        return [inputs[:, i, 0] for i in range(inputs.shape[1])]

    def encode_pair(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Projected query (with gradient) and normalised key of the first two views; the
        key encoder takes its momentum step first."""
        views = self._views(inputs)
        q = self.project(views[0])
        self.momentum_update()
        k = F.normalize(self.project_key(views[1]), dim=1)
        return q, k

    def loss(self, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        q, k = self.encode_pair(inputs)
        losses = {"loss_infonce": self.loss_fn(q, k, self.queue.clone().detach())}
        self.enqueue(k)
        return losses

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = "tensor"):
        if mode == "loss":
            return self.loss(inputs)
        if mode == "tensor":
            x = inputs[:, 0] if inputs.dim() == 7 else inputs
            return self.embed(x[:, 0] if x.dim() == 6 else x)
        raise ValueError(f"{type(self).__name__} is a pre-training model: mode must be 'loss' "
                         f"or 'tensor', got {mode!r} (evaluate its encoder with a recogniser "
                         f"config and load_from)")
