"""Semantic segmentor: a dense network + a configurable loss behind mmengine's BaseModel."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from zoo.datasets.segmentation.structures import SegDataSample

from zoo.engine.data_preprocessor import DataPreprocessor
from zoo.registry import MODELS


@MODELS.register_module()
class SegDataPreprocessor(DataPreprocessor):
    """Stacks ``inputs`` into a float batch and standardises it, ``(x - mean) / std`` per
    channel (scalars or one value per channel)."""

    def __init__(self, mean: float | Sequence[float] = 0.5, std: float | Sequence[float] = 0.25):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32).reshape(-1),
                             persistent=False)
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32).reshape(-1),
                             persistent=False)

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data["inputs"]
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(list(inputs))
        inputs = inputs.float()
        shape = (1, -1) + (1,) * (inputs.dim() - 2)
        inputs = (inputs - self.mean.reshape(shape)) / self.std.reshape(shape)
        return {"inputs": inputs, "data_samples": data.get("data_samples")}


@MODELS.register_module()
class Segmentor(BaseModel):
    """Dense segmentor: ``network`` (e.g. ``MonaiUNet`` / ``MonaiBasicUNet``, 2-D or 3-D)
    trained with ``loss`` (any zoo segmentation loss: ``DiceCELoss``, ``DiceClDiceLoss``,
    ``DiceCESkeletonRecallLoss``, ...).

    ``forward(inputs, data_samples, mode)``: ``'loss'`` -> ``{'loss_seg'}`` (targets from
    ``gt_sem_seg``, and ``gt_skel`` for losses with ``needs_skeleton``), ``'predict'`` ->
    data samples with ``pred_sem_seg`` and ``seg_probs``, ``'tensor'`` -> logits.
    Inputs whose size is not a multiple of ``size_divisor`` are padded (reflect) and the
    output cropped back, so any image size can be predicted.
    """

    def __init__(self, network: dict, loss: dict, num_classes: int = 2,
                 size_divisor: int = 16, data_preprocessor: dict | None = None,
                 init_cfg: dict | None = None):
        super().__init__(data_preprocessor=data_preprocessor or dict(type="SegDataPreprocessor"),
                         init_cfg=init_cfg)
        self.network = MODELS.build(network)
        self.loss_fn = MODELS.build(loss)
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.num_classes, self.size_divisor = num_classes, size_divisor

    def logits(self, inputs: torch.Tensor) -> torch.Tensor:
        spatial = inputs.shape[2:]
        pad = []
        for s in reversed(spatial):
            pad += [0, (-s) % self.size_divisor]
        if any(pad):
            mode = "reflect" if all(p < s for p, s in zip(pad[1::2], reversed(spatial))) \
                else "replicate"
            inputs = F.pad(inputs, pad, mode=mode)
        out = self.network(inputs)
        if out.shape[1] != self.num_classes:
            raise ValueError(f"network gives {out.shape[1]} channels but num_classes is "
                             f"{self.num_classes}")
        return out[(slice(None), slice(None)) + tuple(slice(0, s) for s in spatial)]

    def forward(self, inputs: torch.Tensor, data_samples: Sequence[SegDataSample] | None = None,
                mode: str = "tensor"):
        if mode == "tensor":
            return self.logits(inputs)
        if mode == "loss":
            return {"loss_seg": self.loss(inputs, data_samples)}
        if mode == "predict":
            return self.predict(inputs, data_samples)
        raise ValueError(f"invalid mode {mode!r}; use 'loss', 'predict' or 'tensor'")

    def _stack(self, data_samples, key: str, device) -> torch.Tensor:
        if not data_samples or any(key not in s for s in data_samples):
            raise KeyError(f"Segmentor: every data sample needs {key!r} in mode='loss'")
        return torch.stack([s.get(key) for s in data_samples]).unsqueeze(1).to(device)

    def loss(self, inputs: torch.Tensor, data_samples: Sequence[SegDataSample]) -> torch.Tensor:
        target = self._stack(data_samples, "gt_sem_seg", inputs.device)
        skel = None
        if getattr(self.loss_fn, "needs_skeleton", False):
            skel = self._stack(data_samples, "gt_skel", inputs.device)
        return self.loss_fn(self.logits(inputs), target, skel=skel)

    def predict_probs(self, inputs: torch.Tensor) -> torch.Tensor:
        """Class probabilities [N, C, ...] (sigmoid for a 1-channel output: foreground)."""
        out = self.logits(inputs)
        return out.sigmoid() if out.shape[1] == 1 else out.softmax(1)

    def predict(self, inputs: torch.Tensor, data_samples=None) -> list[SegDataSample]:
        probs = self.predict_probs(inputs)
        preds = (probs[:, 0] > 0.5).long() if probs.shape[1] == 1 else probs.argmax(1)
        if data_samples is None:
            data_samples = [SegDataSample() for _ in range(len(inputs))]
        for sample, pred, prob in zip(data_samples, preds, probs):
            sample.pred_sem_seg = pred.detach()
            sample.seg_probs = prob.detach()
        return list(data_samples)
