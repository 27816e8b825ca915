"""Torchvision detectors (Faster R-CNN, RetinaNet, FCOS) built without pretrained weights,
loaded from local or zoo checkpoints, and frozen for ModTr.

Two ways to name a detector:

* ``name=`` one of torchvision's builders (``fasterrcnn_resnet50_fpn``,
  ``retinanet_resnet50_fpn``, ``fcos_resnet50_fpn``, ``fasterrcnn_mobilenet_v3_large_fpn``,
  ...) - the detectors of the ModTr paper - always with ``weights=None,
  weights_backbone=None``;
* ``arch=`` ``'fasterrcnn' | 'retinanet' | 'fcos'`` with a light backbone (a ResNet such
  as ``backbone='resnet18'``, or ``'tiny'``, a small plain-conv net) and a narrow FPN, small
  anchors and a small box head, for small images on a CPU.
"""
from __future__ import annotations

import collections
import contextlib
import os.path as osp
from typing import Iterator

import torchvision
from torch import nn
from torchvision.models.detection import FCOS, FasterRCNN, RetinaNet
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool, LastLevelP6P7

ARCHS = ("fasterrcnn", "retinanet", "fcos")
_RESNET_CHANNELS = {"resnet18": 64, "resnet34": 64, "resnet50": 256, "resnet101": 256}


def _conv_bn_relu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class TinyBackbone(nn.Sequential):
    """A small plain-conv backbone laid out like a ResNet (``layer1..layer4`` at strides 4,
    8, 16, 32, widths ``channels``) for quick CPU training on small images."""

    def __init__(self, channels=(16, 32, 64, 128)):
        channels = tuple(channels)
        if len(channels) != 4:
            raise ValueError(f"TinyBackbone needs 4 stage widths, got {channels}")
        layers = [("stem", _conv_bn_relu(3, channels[0], 2))]
        cin = channels[0]
        for i, c in enumerate(channels):
            layers.append((f"layer{i + 1}", nn.Sequential(_conv_bn_relu(cin, c, 2),
                                                          _conv_bn_relu(c, c))))
            cin = c
        super().__init__(collections.OrderedDict(layers))
        self.channels = channels


def _backbone_fpn(backbone: str, returned_layers, fpn_channels: int, extra,
                  backbone_channels=(16, 32, 64, 128)) -> BackboneWithFPN:
    if backbone == "tiny":
        body = TinyBackbone(backbone_channels)
        in_channels = [body.channels[k - 1] for k in returned_layers]
    elif backbone in _RESNET_CHANNELS:
        body = getattr(torchvision.models, backbone)(weights=None)
        base = _RESNET_CHANNELS[backbone]
        in_channels = [base * 2 ** (k - 1) for k in returned_layers]
    else:
        raise ValueError(f"backbone must be 'tiny' or one of {sorted(_RESNET_CHANNELS)}, got "
                         f"{backbone!r}")
    return_layers = {f"layer{k}": str(i) for i, k in enumerate(returned_layers)}
    return BackboneWithFPN(body, return_layers, in_channels, fpn_channels, extra_blocks=extra)


def build_torchvision_detector(arch: str | None = None, name: str | None = None,
                               num_classes: int = 4, backbone: str = "resnet18",
                               fpn_channels: int = 128, returned_layers=(2, 3, 4),
                               anchor_sizes=(16, 32, 64, 128), box_representation: int = 256,
                               min_size: int = 128, max_size: int = 128,
                               backbone_channels=(16, 32, 64, 128), **kwargs) -> nn.Module:
    """A torchvision detector with random weights (``weights=None, weights_backbone=None``).

    ``num_classes`` counts the background (label 0), so K object classes need K + 1.
    ``min_size`` / ``max_size`` set torchvision's internal resize (torchvision's default of
    800 px would upsample small images). Extra ``kwargs`` go to the torchvision class
    (e.g. ``box_batch_size_per_image``, ``score_thresh``).
    """
    if (arch is None) == (name is None):
        raise ValueError("give exactly one of arch= ('fasterrcnn', 'retinanet', 'fcos') or "
                         "name= (a torchvision builder such as 'fasterrcnn_resnet50_fpn')")
    if name is not None:
        builder = getattr(torchvision.models.detection, name, None)
        if builder is None or not callable(builder):
            raise ValueError(f"torchvision.models.detection has no builder {name!r}")
        return builder(weights=None, weights_backbone=None, num_classes=num_classes,
                       min_size=min_size, max_size=max_size, **kwargs)
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")
    returned_layers = tuple(returned_layers)
    if arch == "fasterrcnn":
        body = _backbone_fpn(backbone, returned_layers, fpn_channels, LastLevelMaxPool(),
                             backbone_channels)
        levels = len(returned_layers) + 1
        sizes = tuple(anchor_sizes)
        if len(sizes) != levels:
            raise ValueError(f"fasterrcnn with {len(returned_layers)} returned layers needs "
                             f"{levels} anchor sizes, got {sizes}")
        anchors = AnchorGenerator(tuple((s,) for s in sizes), ((0.5, 1.0, 2.0),) * levels)
        box_head = TwoMLPHead(fpn_channels * 7 * 7, box_representation)
        return FasterRCNN(body, num_classes=None, rpn_anchor_generator=anchors,
                          box_head=box_head,
                          box_predictor=FastRCNNPredictor(box_representation, num_classes),
                          min_size=min_size, max_size=max_size, **kwargs)
    if arch == "fcos" and fpn_channels % 32:
        raise ValueError(f"fcos needs fpn_channels divisible by 32 (its head uses GroupNorm with "
                         f"32 groups), got {fpn_channels}")
    body = _backbone_fpn(backbone, returned_layers, fpn_channels,
                         LastLevelP6P7(fpn_channels, fpn_channels), backbone_channels)
    levels = len(returned_layers) + 2
    sizes = tuple(anchor_sizes)
    if len(sizes) < levels:  # continue the doubling for P6, P7
        sizes = sizes + tuple(sizes[-1] * 2 ** (i + 1) for i in range(levels - len(sizes)))
    sizes = sizes[:levels]
    if arch == "retinanet":
        anchors = AnchorGenerator(tuple((s, s * 2 ** (1 / 3), s * 2 ** (2 / 3)) for s in sizes),
                                  ((0.5, 1.0, 2.0),) * levels)
        return RetinaNet(body, num_classes=num_classes, anchor_generator=anchors,
                         min_size=min_size, max_size=max_size, **kwargs)
    anchors = AnchorGenerator(tuple((s // 2,) for s in sizes), ((1.0,),) * levels)
    return FCOS(body, num_classes=num_classes, anchor_generator=anchors, min_size=min_size,
                max_size=max_size, **kwargs)


def _resolve_checkpoint(path: str) -> str:
    """A work dir stands for the checkpoint named in its ``last_checkpoint`` file."""
    if osp.isdir(path):
        marker = osp.join(path, "last_checkpoint")
        if not osp.isfile(marker):
            raise FileNotFoundError(f"detector checkpoint folder {path} has no last_checkpoint "
                                    f"file (train the RGB detector first)")
        with open(marker, encoding="utf-8") as f:
            path = f.read().strip()
    if not osp.isfile(path):
        raise FileNotFoundError(f"detector checkpoint {path} does not exist")
    return path


def load_detector_weights(detector: nn.Module, checkpoint: str, prefix: str = "detector."
                          ) -> str:
    """Load ``checkpoint`` into ``detector`` (strict) and return the file read.

    ``checkpoint``: a ``.pth`` / ``.safetensors`` file, a work dir (its ``last_checkpoint``),
    or ``zoo://NAME``. Files are read with ``weights_only=True`` and the zoo's allow-list.
    Keys of a zoo ``TorchvisionDetector`` checkpoint (``detector.*``) and of a bare
    torchvision state dict are both accepted.
    """
    if checkpoint.startswith("zoo://"):
        from zoo.hub.api import load_pretrained

        state, source = load_pretrained(checkpoint[len("zoo://"):]), checkpoint
    else:
        from zoo.checkpoint import allow_mmengine_checkpoints
        from zoo.hub.loading import load_state_dict_file

        source = _resolve_checkpoint(checkpoint)
        state = load_state_dict_file(source)
        # safe_torch_load's safe_globals context removes the allow-list on exit, also when
        # it had been added globally; restore it so the runner's load_from still works.
        allow_mmengine_checkpoints()
    if any(k.startswith(prefix) for k in state):
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    from zoo.checkpoint import load_state_dict_checked

    # missing / unexpected / mis-shaped keys all named (a KeyError, as before)
    load_state_dict_checked(detector, state, source=f"detector checkpoint {source}",
                            strict=True)
    return source


def freeze(module: nn.Module) -> nn.Module:
    """``requires_grad=False`` on every parameter and eval mode (BatchNorm statistics)."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module.eval()


_STATEFUL = (nn.modules.batchnorm._BatchNorm, nn.Dropout)


@contextlib.contextmanager
def loss_mode(detector: nn.Module) -> Iterator[nn.Module]:
    """Let a frozen detector compute its training losses without changing any state.

    torchvision detectors only return losses in training mode; inside this context the
    detector is in training mode except its BatchNorm (running statistics kept, not
    updated) and dropout layers, and it is put back in eval mode afterwards.
    """
    detector.train()
    for m in detector.modules():
        if isinstance(m, _STATEFUL):
            m.eval()
    try:
        yield detector
    finally:
        detector.eval()
