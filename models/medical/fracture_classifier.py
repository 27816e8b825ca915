"""Fracture classifier of sagittal vertebra crops: the source of HealthiVert-GAN's heat maps.

HealthiVert-GAN (Zhang et al., JBHI 2025, arXiv 2503.05990) feeds its generator ``1 - heat
map``, the Grad-CAM++ map of the "fractured" class of a binary classifier of straightened
sagittal vertebra slices (the official ``Attention/grad_CAM_3d_sagittal.py`` uses a 2-D
SE-ResNet-50 and the map of its last residual stage). The phantom crops here are 64 x 64, so a
small four-stage CNN stands in for the SE-ResNet-50; its last convolutional stage is named
``features`` for :class:`zoo.analysis.grad_cam.GradCAMPlusPlus`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import nn

from zoo.registry import MODELS


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=False))


@MODELS.register_module()
class VertebraFractureClassifier(BaseModel):
    """Binary (healthy 0 / fractured 1) CNN on [N, 1, H, W] sagittal crops.

    Stages: ``widths[0]`` at full resolution, then max-pool 2 before each further stage
    (``features`` = the last stage, at 1/8 of the input for four stages); global average pool
    -> dropout -> linear. Loss: cross-entropy with ``class_weight`` (phantom sets hold five
    healthy vertebrae per fractured one).

    ``forward(inputs, data_samples, mode)``: ``inputs`` the image tensor; ``data_samples`` a
    dict with ``label`` [N] for ``'loss'``; ``'predict'`` returns dicts with ``pred_score``
    (softmax), ``pred_label`` and ``gt_label`` (for :class:`AccMetric`); ``'tensor'`` the
    logits.
    """

    def __init__(self, in_channels: int = 1, widths: tuple[int, ...] = (16, 32, 48, 64),
                 num_classes: int = 2, dropout: float = 0.2,
                 class_weight: tuple[float, ...] | None = None,
                 data_preprocessor: dict | None = None, init_cfg: dict | None = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        stages, c = [], in_channels
        for i, w in enumerate(widths):
            pool = [nn.MaxPool2d(2)] if i else []
            stages.append(nn.Sequential(*pool, _block(c, w), _block(w, w)))
            c = w
        self.stem = nn.Sequential(*stages[:-1])
        self.features = stages[-1]
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(c, num_classes)
        self.num_classes = num_classes
        if class_weight is not None and len(class_weight) != num_classes:
            raise ValueError(f"VertebraFractureClassifier: class_weight has "
                             f"{len(class_weight)} entries for {num_classes} classes")
        self.register_buffer("class_weight", None if class_weight is None
                             else torch.tensor(class_weight, dtype=torch.float32),
                             persistent=False)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.features(self.stem(x))
        return self.head(self.dropout(feat.mean(dim=(2, 3))))

    def forward(self, inputs: torch.Tensor, data_samples: dict | None = None,
                mode: str = "tensor"):
        if isinstance(inputs, dict):
            inputs = inputs["image"]
        logits = self.logits(inputs)
        if mode == "tensor":
            return logits
        if data_samples is None:
            raise ValueError(f"VertebraFractureClassifier: mode {mode!r} needs data_samples "
                             "with 'label'")
        labels = data_samples["label"].long().to(logits.device)
        if mode == "loss":
            return dict(loss_cls=F.cross_entropy(logits, labels, weight=self.class_weight))
        if mode == "predict":
            probs = logits.softmax(1).detach().cpu()
            return [dict(pred_score=p, pred_label=int(p.argmax()), gt_label=int(y))
                    for p, y in zip(probs, labels.cpu())]
        raise ValueError(f"VertebraFractureClassifier: unknown mode {mode!r}")
