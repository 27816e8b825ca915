"""Tile encoders for whole-slide feature extraction: any timm model, optionally truncated.

The default follows CLAM's ``resnet50_trunc``: timm ``resnet50.tv_in1k`` up to the third
stage (``layer3``, 1024 channels) followed by global average pooling, giving a 1024-d feature
per 224-px tile. ``out_index`` picks any other feature level of a ``features_only`` timm
model; ``out_index=None`` uses the model's own pooled features (``num_classes=0``), which
suits ViTs.
"""
from __future__ import annotations

import warnings

import torch
from torch import nn


class TileEncoder(nn.Module):
    """timm backbone -> (optional truncation) -> global average pool -> ``[N, D]``.

    Args:
        name: timm model name (e.g. ``resnet50.tv_in1k``, ``resnet18``, ``vit_small_patch16_224``).
        out_index: ``features_only`` index of the output stage (resnets: 1..4 = layer1..4);
            ``None`` takes the model's pooled output.
        weights: ``None`` (random init, with a warning), ``'timm'`` (timm's pretrained download;
            needs internet) or a checkpoint source for :func:`zoo.hub.load_pretrained`
            (``zoo://NAME``, URL, or local file of the *full* timm model's state dict).
    """

    def __init__(self, name: str = "resnet50.tv_in1k", out_index: int | None = 3,
                 weights: str | None = None):
        super().__init__()
        import timm

        self.name, self.out_index = name, out_index
        self.weights = weights  # recorded with extracted features (their settings)
        kwargs: dict = dict(pretrained=weights == "timm")
        if out_index is None:
            self.body = timm.create_model(name, num_classes=0, **kwargs)
        else:
            self.body = timm.create_model(name, features_only=True, out_indices=(out_index,),
                                          **kwargs)
        if weights is None:
            warnings.warn(f"TileEncoder({name!r}): random initial weights (no checkpoint given);"
                          " features are only useful for tests and demos. Pass a checkpoint "
                          "(--weights PATH | zoo://NAME) for real slides.", stacklevel=2)
        elif weights != "timm":
            self.load_full_model_weights(weights)
        cfg = timm.data.resolve_data_config({}, model=self.body)
        self.register_buffer("mean", torch.tensor(cfg["mean"]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(cfg["std"]).view(1, 3, 1, 1), persistent=False)
        self.eval()

    def load_full_model_weights(self, source: str) -> None:
        """Load a full-model state dict; every tensor the truncated encoder uses must be there."""
        from zoo.hub import load_pretrained

        state = load_pretrained(source)
        if "state_dict" in state and isinstance(state["state_dict"], dict):
            state = state["state_dict"]
        own = self.body.state_dict()
        missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
        if missing:
            raise KeyError(f"{source}: checkpoint lacks {len(missing)} tensors of {self.name} "
                           f"(first: {missing[:3]})")
        bad = [k for k in own if k in state and state[k].shape != own[k].shape]
        if bad:
            raise ValueError(f"{source}: shape mismatch for {bad[:3]} ({self.name})")
        self.body.load_state_dict({k: state[k] for k in own if k in state}, strict=False)

    @property
    def out_dim(self) -> int:
        if self.out_index is None:
            return int(self.body.num_features)
        return int(self.body.feature_info.channels()[-1])

    @torch.no_grad()
    def forward(self, tiles: torch.Tensor) -> torch.Tensor:
        """``tiles``: uint8 ``[N, H, W, 3]`` or float ``[N, 3, H, W]`` in [0, 1]."""
        if tiles.dtype == torch.uint8:
            tiles = tiles.permute(0, 3, 1, 2).float() / 255.0
        x = (tiles - self.mean) / self.std
        out = self.body(x)
        if self.out_index is None:
            return out
        return out[-1].mean(dim=(2, 3))
