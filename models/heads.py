"""Classification heads."""
from __future__ import annotations

import torch
from torch import nn

from zoo.registry import MODELS


@MODELS.register_module()
class GCNHead(nn.Module):
    """Pools skeleton features and classifies them (as ST-GCN / PYSKL's GCN head).

    Input ``[N, M, C, T, V]`` (persons M): mean over T and V, then over M, dropout, linear.
    Output logits ``[N, num_classes]``.
    """

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.0):
        super().__init__()
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(in_channels, num_classes)
        nn.init.normal_(self.fc.weight, 0, 0.01)
        nn.init.zeros_(self.fc.bias)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """Return the pooled embedding ``[N, C]`` (used by continual / unlearning code)."""
        if x.dim() != 5:
            raise ValueError(f"GCNHead expects [N, M, C, T, V] features, got {tuple(x.shape)}")
        return x.mean(dim=(3, 4)).mean(dim=1)

    def classify(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(embedding))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.pool(x))


@MODELS.register_module()
class LinearClsHead(nn.Module):
    """Global-average-pools ``[N, C, ...]`` features (or takes ``[N, C]``), dropout, linear."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.0):
        super().__init__()
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(in_channels, num_classes)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).mean(-1) if x.dim() > 2 else x

    def classify(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(embedding))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.pool(x))
