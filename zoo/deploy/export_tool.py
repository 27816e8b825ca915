"""``tools/deploy/export.py``: build a config's model with its checkpoint, export it (and,
with ``int8``, quantise the export on training samples)."""
from __future__ import annotations

import copy
import os.path as osp
from typing import Sequence

import numpy as np
import torch
from mmengine.config import Config

from zoo.apis.model import init_model
from zoo.registry import DATASETS

from .onnx_export import ExportReport, export_onnx
from .quantize import QuantizeReport, quantize_onnx_int8


def _batch_of_one(sample: dict) -> torch.Tensor:
    return torch.as_tensor(sample["inputs"]).float().unsqueeze(0)


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
    return _batch_of_one(sample)


def evenly_spread(total: int, count: int) -> np.ndarray:
    """``count`` indices spread evenly over ``range(total)`` (every index when ``count`` is
    at least ``total``): the calibration samples the int8 export takes."""
    return np.unique(np.linspace(0, total - 1, min(count, total)).round()).astype(int)


def calibration_from_train_set(cfg: Config, source: str, samples: int) -> list[np.ndarray]:
    """``samples`` training samples, evenly spread over the train split and read with the
    test pipeline (the input shape the export expects, no augmentation), each ``[1, ...]``.

    The training split, not the test split: calibration sets the int8 ranges, a choice that
    must not see the data the model is scored on.
    """
    train, test = cfg.get("train_dataloader"), cfg.get("test_dataloader")
    if train is None or test is None:
        raise ValueError(f"{source}: int8 calibration needs train_dataloader and "
                         "test_dataloader (training samples read with the test pipeline)")
    dataset = copy.deepcopy(train["dataset"])
    inner = dataset
    while "pipeline" not in inner and "dataset" in inner:  # RepeatDataset and other wrappers
        inner = inner["dataset"]
    inner["pipeline"] = copy.deepcopy(test["dataset"]["pipeline"])
    try:
        built = DATASETS.build(dataset)
    except Exception as exc:
        raise ValueError(f"{source}: cannot read the training split for int8 calibration "
                         f"({exc})") from exc
    return [_batch_of_one(built[int(i)]).numpy() for i in evenly_spread(len(built), samples)]


def export_from_config(config: str, checkpoint: str, out: str | None = None,
                       input_shape: Sequence[int] | None = None, fuse: bool = True,
                       opset: int = 17, int8: bool = False, calib_samples: int = 64,
                       int8_fp32_nodes: Sequence[str] = ()
                       ) -> ExportReport | tuple[ExportReport, QuantizeReport]:
    """Build ``config``'s model with ``checkpoint`` (strict, :func:`zoo.apis.init_model`)
    and export it to ONNX; with ``int8`` also write ``<out stem>.int8.onnx``, calibrated on
    ``calib_samples`` training samples and checked against the fp32 file on them, with the
    nodes matching ``int8_fp32_nodes`` (regular expressions) left fp32."""
    model = init_model(config, checkpoint)
    torch.manual_seed(0)
    example = (torch.randn(*input_shape) if input_shape
               else example_from_test_set(model.cfg, config))
    out = out or osp.splitext(checkpoint)[0] + ".onnx"
    report = export_onnx(model, example, out, fuse=fuse, opset=opset)
    if not int8:
        return report
    calibration = calibration_from_train_set(model.cfg, config, calib_samples)
    return report, quantize_onnx_int8(out, osp.splitext(out)[0] + ".int8.onnx", calibration,
                                      fp32_nodes=int8_fp32_nodes)
