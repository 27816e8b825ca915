"""Linear evaluation of a pre-trained skeleton encoder."""
from __future__ import annotations

from zoo.registry import MODELS

from ..classifiers import SkeletonRecognizer


@MODELS.register_module()
class LinearEvalRecognizer(SkeletonRecognizer):
    """The linear evaluation protocol of self-supervised skeleton learning (as in
    CrosSCLR / AimCLR / HiCLR): a :class:`SkeletonRecognizer` whose backbone is frozen (no
    gradient, kept in eval mode so batch-norm statistics stay the pre-trained ones); only
    the head's linear classifier learns. Load the encoder with ``load_from``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for p in self.backbone.parameters():
            p.requires_grad = False
        self.backbone.eval()

    def train(self, mode: bool = True):
        super().train(mode)
        self.backbone.eval()
        return self
