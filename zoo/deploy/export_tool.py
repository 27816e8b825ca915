"""``tools/deploy/export.py``: build a config's model, load a checkpoint, export it."""
from __future__ import annotations

import os.path as osp
from typing import Sequence

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from zoo.hub.loading import load_state_dict_file
from zoo.registry import DATASETS, MODELS

from .onnx_export import ExportReport, export_onnx


def example_from_test_set(cfg: Config, source: str) -> torch.Tensor:
    """The first test sample's input tensor with a batch axis of 1."""
    loader = cfg.get("test_dataloader")
    if loader is None:
        raise ValueError(f"{source}: no test_dataloader to take the input shape from; "
                         "give --input-shape")
    try:
        sample = DATASETS.build(loader["dataset"])[0]
    except Exception as exc:  # the data may be absent on the exporting machine
        raise ValueError(f"{source}: cannot read the first test sample to take the input "
                         f"shape from ({exc}); give --input-shape") from exc
    inputs = sample["inputs"]
    return torch.as_tensor(inputs).float().unsqueeze(0)


def export_from_config(config: str, checkpoint: str, out: str | None = None,
                       input_shape: Sequence[int] | None = None, fuse: bool = True,
                       opset: int = 17) -> ExportReport:
    """Build ``config``'s model, load ``checkpoint`` (strict) and export it to ONNX."""
    if not osp.isfile(config):
        raise FileNotFoundError(f"config file {config} does not exist")
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get("default_scope", "zoo"))
    model = MODELS.build(cfg.model)
    state = load_state_dict_file(checkpoint)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise KeyError(f"{checkpoint} does not match {config}'s model: missing "
                       f"{missing[:5]}, unexpected {unexpected[:5]}")
    torch.manual_seed(0)
    example = (torch.randn(*input_shape) if input_shape
               else example_from_test_set(cfg, config))
    out = out or osp.splitext(checkpoint)[0] + ".onnx"
    return export_onnx(model, example, out, fuse=fuse, opset=opset)
