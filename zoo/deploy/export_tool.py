"""``tools/deploy/export.py``: build a config's model with its checkpoint, export it."""
from __future__ import annotations

import os.path as osp
from typing import Sequence

import torch
from mmengine.config import Config

from zoo.apis.model import init_model
from zoo.registry import DATASETS

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
    return torch.as_tensor(sample["inputs"]).float().unsqueeze(0)


def export_from_config(config: str, checkpoint: str, out: str | None = None,
                       input_shape: Sequence[int] | None = None, fuse: bool = True,
                       opset: int = 17) -> ExportReport:
    """Build ``config``'s model with ``checkpoint`` (strict, :func:`zoo.apis.init_model`)
    and export it to ONNX."""
    model = init_model(config, checkpoint)
    torch.manual_seed(0)
    example = (torch.randn(*input_shape) if input_shape
               else example_from_test_set(model.cfg, config))
    out = out or osp.splitext(checkpoint)[0] + ".onnx"
    return export_onnx(model, example, out, fuse=fuse, opset=opset)
