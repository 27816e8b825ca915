"""Detection models behind mmengine's ``BaseModel``: a trainable torchvision detector and
ModTr (translator in front of a frozen detector).

Medeiros et al., "Modality Translation for Object Detection Adaptation Without Forgetting
Prior Knowledge", ECCV 2024: an IR image is translated by a small U-Net, fused with the IR
input, and fed to an RGB detector whose weights never change; only the translator is trained,
on the detector's own detection losses (all weighted 0.1 in the official code).
"""
from __future__ import annotations

from typing import Sequence

import torch
from mmengine.model import BaseModel
from mmengine.structures import InstanceData
from torch import nn
from zoo.datasets.detection.structures import DetDataSample

from zoo.engine.data_preprocessor import DataPreprocessor
from zoo.registry import MODELS

from .fusion import fuse
from .torchvision_detectors import (
    build_torchvision_detector,
    freeze,
    load_detector_weights,
    loss_mode,
)


@MODELS.register_module()
class DetDataPreprocessor(DataPreprocessor):
    """Moves a list of ``[C, H, W]`` images to the device as float (sizes may differ);
    normalisation is left to the torchvision detector."""

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data["inputs"]
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs)
        return {"inputs": [x.float() for x in inputs], "data_samples": data.get("data_samples")}


def to_rgb(img: torch.Tensor) -> torch.Tensor:
    """[1, H, W] -> [3, H, W] (an IR image as the 3-channel input of an RGB network)."""
    if img.shape[0] == 1:
        return img.expand(3, -1, -1)
    if img.shape[0] != 3:
        raise ValueError(f"detector input must have 1 or 3 channels, got {tuple(img.shape)}")
    return img


def targets_from(data_samples: Sequence[DetDataSample], device) -> list[dict]:
    if not data_samples:
        raise ValueError("mode='loss' needs data_samples with gt_instances")
    return [dict(boxes=s.gt_instances.bboxes.to(device).float(),
                 labels=s.gt_instances.labels.to(device).long()) for s in data_samples]


def rename_losses(losses: dict, weights: dict | None = None) -> dict:
    """torchvision's loss names -> ``loss_*`` (mmengine sums the keys containing 'loss'),
    each multiplied by ``weights.get(name, 1.0)`` (names after renaming)."""
    out = {}
    for key, value in losses.items():
        name = key if key.startswith("loss") else f"loss_{key}"
        out[name] = value * (weights or {}).get(name, 1.0)
    return out


def attach_detections(data_samples, detections: list[dict]) -> list[DetDataSample]:
    if data_samples is None:
        data_samples = [DetDataSample() for _ in detections]
    for sample, det in zip(data_samples, detections):
        pred = InstanceData()
        pred.bboxes = det["boxes"].detach().cpu()
        pred.scores = det["scores"].detach().cpu()
        pred.labels = det["labels"].detach().cpu()
        sample.pred_instances = pred
    return list(data_samples)


@MODELS.register_module()
class TorchvisionDetector(BaseModel):
    """A trainable torchvision detector (``detector`` = kwargs of
    :func:`build_torchvision_detector`); 1-channel inputs are repeated to 3 channels.

    ``forward(inputs, data_samples, mode)``: ``'loss'`` -> torchvision's losses renamed
    ``loss_*``; ``'predict'`` -> data samples with ``pred_instances`` (bboxes, scores,
    labels); ``'tensor'`` -> the raw torchvision detections.
    """

    def __init__(self, detector: dict, checkpoint: str | None = None,
                 data_preprocessor: dict | None = None, init_cfg: dict | None = None):
        super().__init__(data_preprocessor=data_preprocessor or dict(type="DetDataPreprocessor"),
                         init_cfg=init_cfg)
        self.detector = build_torchvision_detector(**detector)
        if checkpoint:
            load_detector_weights(self.detector, checkpoint)

    def forward(self, inputs, data_samples=None, mode: str = "tensor"):
        images = [to_rgb(x) for x in inputs]
        if mode == "loss":
            return rename_losses(self.detector(images, targets_from(data_samples,
                                                                    images[0].device)))
        if mode in ("predict", "tensor"):
            was_training = self.detector.training
            self.detector.eval()
            detections = self.detector(images)
            self.detector.train(was_training)
            return detections if mode == "tensor" else attach_detections(data_samples, detections)
        raise ValueError(f"invalid mode {mode!r}; use 'loss', 'predict' or 'tensor'")


@MODELS.register_module()
class ModTrDetector(BaseModel):
    """ModTr: ``IR -> translator -> fusion with the IR input -> frozen RGB detector``.

    The detector (kwargs of :func:`build_torchvision_detector`) is loaded from
    ``detector_checkpoint`` (a file, a work dir's ``last_checkpoint``, or ``zoo://NAME``),
    then frozen: ``requires_grad=False`` and eval mode at all times (``train()`` leaves it
    in eval mode, so BatchNorm statistics never move). Only ``translator`` learns, from the
    detector's losses (computed through torchvision's training path with BatchNorm in eval
    mode, see :func:`loss_mode`), each multiplied by ``loss_weights`` (paper: 0.1).

    Args:
        translator: config of the translator (``ModTrTranslator``), 3 channels in and out.
        fusion: ``'none'``, ``'product'`` (ModTr_⊙, the paper's best), ``'addition'``,
            ``'attention'`` (see ``fusion.py``).
        use_translator: ``False`` feeds the inputs straight to the frozen detector (to
            measure it on RGB or raw IR images with the same checkpoint).
        keep_images: in ``'predict'``, store the detector's input as ``translated_img``.
    """

    def __init__(self, translator: dict, detector: dict, detector_checkpoint: str | None = None,
                 fusion: str = "product", loss_weights: dict | None = None,
                 use_translator: bool = True, keep_images: bool = True,
                 data_preprocessor: dict | None = None, init_cfg: dict | None = None):
        super().__init__(data_preprocessor=data_preprocessor or dict(type="DetDataPreprocessor"),
                         init_cfg=init_cfg)
        self.translator = MODELS.build(translator)
        self.detector = build_torchvision_detector(**detector)
        self.detector_source = None
        if detector_checkpoint:
            self.detector_source = load_detector_weights(self.detector, detector_checkpoint)
        freeze(self.detector)
        fuse(torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 2, 2), fusion)  # validates the name
        self.fusion = fusion
        self.loss_weights = dict(loss_weights or {})
        self.use_translator, self.keep_images = use_translator, keep_images

    def train(self, mode: bool = True) -> "ModTrDetector":
        super().train(mode)
        self.detector.eval()
        return self

    def translate(self, inputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """The images the detector sees: fused translations of the IR inputs, or the inputs
        themselves (as 3 channels) when ``use_translator`` is off."""
        images = [to_rgb(x) for x in inputs]
        if not self.use_translator:
            return images
        if len({tuple(x.shape) for x in images}) == 1:
            batch = torch.stack(images)
            return list(fuse(self.translator(batch), batch, self.fusion))
        return [fuse(self.translator(x[None]), x[None], self.fusion)[0] for x in images]

    def forward(self, inputs, data_samples=None, mode: str = "tensor"):
        images = self.translate(inputs)
        if mode == "loss":
            targets = targets_from(data_samples, images[0].device)
            with loss_mode(self.detector) as det:
                losses = det(images, targets)
            return rename_losses(losses, self.loss_weights)
        if mode in ("predict", "tensor"):
            detections = self.detector(images)
            if mode == "tensor":
                return detections
            samples = attach_detections(data_samples, detections)
            if self.keep_images:
                for sample, img in zip(samples, images):
                    sample.translated_img = img.detach().cpu()
            return samples
        raise ValueError(f"invalid mode {mode!r}; use 'loss', 'predict' or 'tensor'")


def detector_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of a detector's parameters and buffers (to check that it never changes)."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()}
