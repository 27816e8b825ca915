"""ABMIL: attention-based deep multiple-instance learning with gated attention."""
from __future__ import annotations

import torch
from torch import nn

from zoo.registry import MODELS

from .base import BaseMIL


class GatedAttentionPool(nn.Module):
    """Gated attention pooling (Ilse et al., ICML 2018, eq. 9).

    ``a_k = softmax_k( w^T (tanh(V h_k) * sigmoid(U h_k)) )``, ``z = sum_k a_k h_k``.
    ``gated=False`` drops the sigmoid branch (their eq. 8); ``act`` replaces tanh (CoMEL's
    pooling uses ReLU, ungated). Returns ``(z [C], a [N])``.
    """

    def __init__(self, in_dim: int, hidden: int = 128, gated: bool = True, dropout: float = 0.0,
                 act: str = "tanh"):
        super().__init__()
        acts = {"tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU}
        if act not in acts:
            raise ValueError(f"act must be one of {sorted(acts)}, got {act!r}")
        self.v = nn.Sequential(nn.Linear(in_dim, hidden), acts[act](), nn.Dropout(dropout))
        self.u = nn.Sequential(nn.Linear(in_dim, hidden), nn.Sigmoid(),
                               nn.Dropout(dropout)) if gated else None
        self.w = nn.Linear(hidden, 1)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g = self.v(h)
        if self.u is not None:
            g = g * self.u(h)
        a = self.w(g).squeeze(-1).softmax(0)
        return a @ h, a


@MODELS.register_module()
class ABMIL(BaseMIL):
    """Gated-attention MIL (Ilse, Tomczak & Welling, "Attention-based Deep Multiple Instance
    Learning", ICML 2018) on pre-extracted tile features.

    ``h = ReLU(Linear(D -> embed_dim))`` per tile, gated attention pooling, linear classifier.
    The attention weights are the instance (tile) scores used for localisation.
    """

    def __init__(self, in_dim: int = 1024, embed_dim: int = 512, attn_dim: int = 128,
                 num_classes: int = 2, dropout: float = 0.25, gated: bool = True,
                 data_preprocessor: dict | None = None, init_cfg: dict | None = None):
        super().__init__(data_preprocessor, init_cfg)
        self.embed = nn.Sequential(nn.Linear(in_dim, embed_dim), nn.ReLU(), nn.Dropout(dropout))
        self.pool = GatedAttentionPool(embed_dim, attn_dim, gated, dropout)
        self.classifier = nn.Linear(embed_dim, num_classes)

    @property
    def num_classes(self) -> int:
        return self.classifier.out_features

    def forward_bag(self, x: torch.Tensor) -> dict:
        h = self.embed(x)
        z, a = self.pool(h)
        return dict(logits=self.classifier(z), attention=a, bag_feature=z, inst_feature=h)
