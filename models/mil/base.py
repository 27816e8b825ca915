"""Shared mmengine plumbing of the MIL models: bag batches, losses, predictions."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from zoo.engine.data_preprocessor import DataPreprocessor
from zoo.registry import MODELS
from zoo.structures import ClsDataSample


@MODELS.register_module()
class BagDataPreprocessor(DataPreprocessor):
    """Moves a list of ``[N_i, D]`` bags to the device without stacking (sizes differ)."""

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data["inputs"]
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs) if inputs.dim() == 3 else [inputs]
        return {"inputs": [x.float() for x in inputs], "data_samples": data.get("data_samples")}


def minmax(scores: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Scale one bag's instance scores to [0, 1]."""
    lo, hi = scores.min(), scores.max()
    return (scores - lo) / (hi - lo + eps)


class BaseMIL(BaseModel):
    """A bag classifier: ``forward_bag(x [N, D]) -> dict(logits [K], attention [N], ...)``.

    mmengine modes: ``'loss'`` -> ``{'loss_cls', ...extra losses}``, ``'predict'`` ->
    data samples with ``pred_score`` (softmax) and ``pred_instance_score`` (min-max scaled
    attention, the localisation map), ``'tensor'`` -> stacked bag logits ``[B, K]``.
    """

    def __init__(self, data_preprocessor: dict | None = None, init_cfg: dict | None = None):
        preprocessor = data_preprocessor or dict(type="zoo.BagDataPreprocessor")
        super().__init__(data_preprocessor=preprocessor,
                         init_cfg=init_cfg)

    def forward_bag(self, x: torch.Tensor) -> dict:
        raise NotImplementedError(f"{type(self).__name__} must implement forward_bag(x)")

    def extra_losses(self, out: dict, label: torch.Tensor, sample) -> dict:
        """Per-bag auxiliary losses (summed over bags, averaged by the caller)."""
        return {}

    def logits(self, inputs) -> torch.Tensor:
        """Bag logits ``[B, K]`` of a list of bags (the continual strategies' interface)."""
        return self(inputs, mode="tensor")

    def loss_from_labels(self, inputs, labels: torch.Tensor) -> dict:
        """The model's full training loss (``mode='loss'``) for bags and integer labels."""
        samples = []
        for label in labels.reshape(-1).tolist():
            sample = ClsDataSample()
            sample.set_gt_label(int(label))
            samples.append(sample)
        return self(inputs, samples, mode="loss")

    def after_bags(self, outs: list[dict], labels: torch.Tensor) -> None:
        """Called once per training batch after the losses (e.g. running statistics); under
        distributed training on every rank, so it may use collectives."""

    @staticmethod
    def _bags(inputs) -> list[torch.Tensor]:
        if isinstance(inputs, torch.Tensor):
            return [inputs] if inputs.dim() == 2 else list(inputs)
        return list(inputs)

    def forward(self, inputs, data_samples: Sequence[ClsDataSample] | None = None,
                mode: str = "tensor"):
        bags = self._bags(inputs)
        for i, bag in enumerate(bags):
            if bag.dim() != 2 or len(bag) == 0:
                raise ValueError(f"bag {i} must be a non-empty [N, D] tensor, got "
                                 f"{tuple(bag.shape)}")
        outs = [self.forward_bag(b) for b in bags]
        logits = torch.stack([o["logits"] for o in outs])
        if mode == "tensor":
            return logits
        if mode == "loss":
            if not data_samples:
                raise ValueError("mode='loss' needs data_samples with gt_label")
            labels = torch.cat([s.gt_label for s in data_samples]).to(logits.device)
            losses = {"loss_cls": F.cross_entropy(logits, labels)}
            for out, label, sample in zip(outs, labels, data_samples):
                for key, value in self.extra_losses(out, label, sample).items():
                    losses[key] = losses.get(key, 0.0) + value / len(outs)
            if self.training:
                self.after_bags(outs, labels)
            return losses
        if mode == "predict":
            if data_samples is None:
                data_samples = [ClsDataSample() for _ in outs]
            for sample, out, logit in zip(data_samples, outs, logits):
                sample.set_pred_score(logit.softmax(-1).detach())
                sample.pred_instance_score = minmax(out["attention"].detach())
            return list(data_samples)
        raise ValueError(f"invalid mode {mode!r}; use 'loss', 'predict' or 'tensor'")
