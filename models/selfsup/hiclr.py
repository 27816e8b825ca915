"""HiCLR: hierarchical consistent contrastive learning with growing augmentations."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from zoo.registry import MODELS

from .moco import SkeletonMoCo, momentum_update  # noqa: F401  (momentum_update: old home)


def random_joint_mask(shape: Sequence[int], ratio: float, device=None) -> torch.Tensor:
    """Boolean mask ``[N, T, V]`` with exactly ``int(V * ratio)`` joints masked in every
    frame of every sample (HiCLR's ``Jointmask``, mask ratio 0.1 in the official config)."""
    n, t, v = shape
    k = int(v * ratio)
    rank = torch.rand(n, t, v, device=device).argsort(-1).argsort(-1)
    return rank < k


@MODELS.register_module()
class HiCLR(SkeletonMoCo):
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
        super().__init__(backbone, feat_channels=feat_channels, feature_dim=feature_dim,
                         hidden_dim=hidden_dim, queue_size=queue_size, momentum=momentum,
                         loss=loss, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.mask_ratio = mask_ratio
        self.mask_param = nn.Parameter(torch.zeros(1))

    @staticmethod
    def default_loss() -> dict:
        return dict(type="HiCLRLoss", temperature=0.07)

    def mask_joints(self, x: torch.Tensor) -> torch.Tensor:
        """Replace ``int(V * mask_ratio)`` joints per frame and sample of ``[N, M, T, V, C]``
        by the learnable ``mask_param``."""
        if self.mask_ratio <= 0:
            return x
        n, m, t, v, c = x.shape
        mask = random_joint_mask((n, t, v), self.mask_ratio, x.device)[:, None, :, :, None]
        return torch.where(mask, self.mask_param.to(x.dtype).expand_as(x), x)

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
