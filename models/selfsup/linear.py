"""Linear evaluation of a pre-trained skeleton encoder."""
from __future__ import annotations

import torch
from torch import nn

from zoo.registry import MODELS

from ..classifiers import SkeletonRecognizer


@MODELS.register_module()
class LinearEvalRecognizer(SkeletonRecognizer):
    """The linear evaluation protocol of self-supervised skeleton learning (as in
    CrosSCLR / AimCLR / HiCLR): a :class:`SkeletonRecognizer` whose backbone is frozen (no
    gradient, kept in eval mode so batch-norm statistics stay the pre-trained ones); only
    the head's linear classifier learns. Load the encoder with ``load_from``.

    ``feature_norm`` (default) puts a batch norm without affine parameters between the
    pooled features and the classifier, as MAE's linear probing (He et al., CVPR 2022):
    a linear map of normalised features, so that encoders whose features differ in scale
    (a random one, a contrastive one, a reconstructive one) are compared fairly with one
    learning rate.
    """

    def __init__(self, *args, feature_norm: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        for p in self.backbone.parameters():
            p.requires_grad = False
        self.backbone.eval()
        channels = self.cls_head.fc.in_features
        self.feat_norm = nn.BatchNorm1d(channels, affine=False) if feature_norm \
            else nn.Identity()

    def train(self, mode: bool = True):
        super().train(mode)
        self.backbone.eval()
        return self

    def _clip_logits(self, inputs: torch.Tensor) -> tuple[torch.Tensor, int]:
        flat, clips = self._flatten_clips(inputs)
        with torch.no_grad():
            emb = self.cls_head.pool(self.backbone(flat))
        return self.cls_head.classify(self.feat_norm(emb)), clips

    def logits(self, inputs: torch.Tensor) -> torch.Tensor:
        logits, clips = self._clip_logits(inputs)
        return logits.reshape(-1, clips, logits.shape[-1]).mean(1)

    def predict_scores(self, inputs: torch.Tensor) -> torch.Tensor:
        logits, clips = self._clip_logits(inputs)
        probs = logits.softmax(-1)
        return probs.reshape(-1, clips, probs.shape[-1]).mean(1)
