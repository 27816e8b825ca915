"""Whole classification models: backbone + head behind mmengine's ``BaseModel`` API."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from zoo.engine.data_preprocessor import DataPreprocessor
from zoo.registry import MODELS
from zoo.structures import ClsDataSample, gather_labels


@MODELS.register_module()
class StackDataPreprocessor(DataPreprocessor):
    """Stacks a list of input tensors into a float batch and moves it to the device."""

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data["inputs"]
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(list(inputs))
        return {"inputs": inputs.float(), "data_samples": data.get("data_samples")}


class BaseClassifier(BaseModel):
    """Backbone + head with cross-entropy training and softmax prediction.

    ``forward(inputs, data_samples, mode)`` follows mmengine: ``'loss'`` returns
    ``{'loss_cls': ...}``, ``'predict'`` returns the data samples with ``pred_score``,
    ``'tensor'`` returns the logits.
    """

    def __init__(self, backbone: dict, cls_head: dict, data_preprocessor: dict | None = None,
                 label_smoothing: float = 0.0, init_cfg: dict | None = None):
        super().__init__(
            data_preprocessor=data_preprocessor or dict(type="StackDataPreprocessor"),
            init_cfg=init_cfg,
        )
        self.backbone = MODELS.build(backbone)
        self.cls_head = MODELS.build(cls_head)
        self.label_smoothing = label_smoothing

    @property
    def num_classes(self) -> int:
        return self.cls_head.fc.out_features

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """Backbone features of a batch."""
        return self.backbone(inputs)

    def embed(self, inputs: torch.Tensor) -> torch.Tensor:
        """Pooled embedding ``[N, C]`` before the classifier layer."""
        return self.cls_head.pool(self.extract_feat(inputs))

    def logits(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.cls_head(self.extract_feat(inputs))

    def forward(self, inputs: torch.Tensor, data_samples: Sequence[ClsDataSample] | None = None,
                mode: str = "tensor"):
        if mode == "tensor":
            return self.logits(inputs)
        if mode == "loss":
            labels = gather_labels(data_samples, inputs.device)
            return {"loss_cls": self.loss(self.logits(inputs), labels)}
        if mode == "predict":
            scores = self.predict_scores(inputs)
            return attach_scores(data_samples, scores)
        raise ValueError(f"invalid mode {mode!r}; use 'loss', 'predict' or 'tensor'")

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, labels, label_smoothing=self.label_smoothing)

    def predict_scores(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.logits(inputs).float().softmax(-1)  # fp32 softmax under bf16 autocast


def attach_scores(data_samples, scores: torch.Tensor) -> list[ClsDataSample]:
    if data_samples is None:
        data_samples = [ClsDataSample() for _ in range(len(scores))]
    for sample, score in zip(data_samples, scores):
        sample.set_pred_score(score.detach())
    return list(data_samples)


@MODELS.register_module()
class ImageClassifier(BaseClassifier):
    """Classifier of ``[N, C, H, W]`` images (or any single-view input)."""


@MODELS.register_module()
class SkeletonRecognizer(BaseClassifier):
    """Skeleton action recogniser over packed clips ``[N, num_clips, M, T, V, C]``.

    Training uses one clip per sample; at test time the class probabilities of the clips are
    averaged (PYSKL's multi-clip testing). A 5-D input ``[N, M, T, V, C]`` is one clip.
    """

    @staticmethod
    def _flatten_clips(inputs: torch.Tensor) -> tuple[torch.Tensor, int]:
        if inputs.dim() == 5:
            return inputs, 1
        if inputs.dim() != 6:
            raise ValueError(
                f"skeleton input must be [N, clips, M, T, V, C] or [N, M, T, V, C], "
                f"got {tuple(inputs.shape)}"
            )
        n, clips = inputs.shape[:2]
        return inputs.reshape(n * clips, *inputs.shape[2:]), clips

    def logits(self, inputs: torch.Tensor) -> torch.Tensor:
        flat, clips = self._flatten_clips(inputs)
        logits = self.cls_head(self.backbone(flat))
        return logits.reshape(-1, clips, logits.shape[-1]).mean(1)

    def embed(self, inputs: torch.Tensor) -> torch.Tensor:
        flat, clips = self._flatten_clips(inputs)
        emb = self.cls_head.pool(self.backbone(flat))
        return emb.reshape(-1, clips, emb.shape[-1]).mean(1)

    def predict_scores(self, inputs: torch.Tensor) -> torch.Tensor:
        flat, clips = self._flatten_clips(inputs)
        probs = self.cls_head(self.backbone(flat)).float().softmax(-1)
        return probs.reshape(-1, clips, probs.shape[-1]).mean(1)
