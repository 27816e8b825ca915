"""HiCLR: hierarchical consistent contrastive learning with growing augmentations."""
from __future__ import annotations

import copy
from typing import Sequence

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


def random_joint_mask(shape: Sequence[int], ratio: float, device=None) -> torch.Tensor:
    """Boolean mask ``[N, T, V]`` with exactly ``int(V * ratio)`` joints masked in every
    frame of every sample (HiCLR's ``Jointmask``, mask ratio 0.1 in the official config)."""
    n, t, v = shape
    k = int(v * ratio)
    rank = torch.rand(n, t, v, device=device).argsort(-1).argsort(-1)
    return rank < k


@MODELS.register_module()
class HiCLR(BaseModel):
    """HiCLR pre-training (Zhang, Lin & Liu, "Hierarchical Consistent Contrastive Learning
    for Skeleton-Based Action Recognition with Growing Augmentations", AAAI 2023; official
    code JHang2020/HiCLR, ``net/hiclr.py`` and ``processor/pretrain_hiclr.py``).

    A query encoder (``backbone`` + MLP ``neck``) and its momentum copy (``backbone_k``,
    ``neck_k``), a queue of ``queue_size`` normalised keys. Inputs are the views of
    :class:`~zoo.datasets.transforms.skeleton_aug.MultiViewSkeleton`,
    ``[N, views, clips, M, T, V, C]``, ordered: basic query, basic key, then the strong
    views from the weakest to the strongest augmentation; the last view also has
    ``int(V * mask_ratio)`` joints per frame replaced by a learnable value (HiCLR's mask
    branch). The loss (``HiCLRLoss``) is InfoNCE of the basic query against the key plus the
    asymmetric consistency of each stronger view's similarity distribution to the previous
    one's. After each step the key encoder follows the query encoder with ``momentum`` and
    the keys enter the queue.

    ``backbone.*`` in the checkpoint is the encoder that any skeleton recogniser config
    loads with ``load_from`` (the other keys are ignored there).
    """

    def __init__(self, backbone: dict, feat_channels: int | None = None,
                 feature_dim: int = 128, hidden_dim: int | None = None,
                 queue_size: int = 32768, momentum: float = 0.999, mask_ratio: float = 0.1,
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
        self.momentum, self.mask_ratio = momentum, mask_ratio
        self.mask_param = nn.Parameter(torch.zeros(1))
        self.loss_fn = MODELS.build(loss or dict(type="HiCLRLoss", temperature=0.07))
        self.register_buffer("queue", F.normalize(torch.randn(queue_size, feature_dim), dim=1))
        self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))

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

    def mask_joints(self, x: torch.Tensor) -> torch.Tensor:
        """Replace ``int(V * mask_ratio)`` joints per frame and sample of ``[N, M, T, V, C]``
        by the learnable ``mask_param``."""
        if self.mask_ratio <= 0:
            return x
        n, m, t, v, c = x.shape
        mask = random_joint_mask((n, t, v), self.mask_ratio, x.device)[:, None, :, :, None]
        return torch.where(mask, self.mask_param.to(x.dtype).expand_as(x), x)

    # --- mmengine API -----------------------------------------------------------------------
    @staticmethod
    def _views(inputs: torch.Tensor) -> list[torch.Tensor]:
        if inputs.dim() != 7 or inputs.shape[1] < 2:
            raise ValueError(
                f"HiCLR expects [N, views >= 2, clips, M, T, V, C] inputs (MultiViewSkeleton "
                f"with query, key and strong views), got {tuple(inputs.shape)}")
        return [inputs[:, i, 0] for i in range(inputs.shape[1])]

    def loss(self, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        views = self._views(inputs)
        query, key, strong = views[0], views[1], views[2:]
        if strong:
            strong = strong[:-1] + [self.mask_joints(strong[-1])]
        queries = [self.project(v) for v in [query] + strong]
        self.momentum_update()
        k = F.normalize(self.project_key(key), dim=1)
        losses = self.loss_fn(queries, k, self.queue.clone().detach())
        self.enqueue(k)
        return losses

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = "tensor"):
        if mode == "loss":
            return self.loss(inputs)
        if mode == "tensor":
            x = inputs[:, 0] if inputs.dim() == 7 else inputs
            return self.embed(x[:, 0] if x.dim() == 6 else x)
        raise ValueError(f"HiCLR is a pre-training model: mode must be 'loss' or 'tensor', got "
                         f"{mode!r} (evaluate its encoder with a recogniser config and "
                         f"load_from)")
