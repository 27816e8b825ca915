"""Export a model's logits to ONNX and check the file with onnxruntime.

The exported graph is the model's ``forward(inputs)`` (``'tensor'`` mode of the zoo's models:
the logits; skeleton recognisers average the clips' logits), with BatchNorm folded first
(:func:`zoo.deploy.fuse.fuse_for_inference`) and a dynamic batch axis. The check runs the file
in onnxruntime on the example input and compares with the PyTorch logits of the original,
unfused model: the largest difference must stay within ``rtol`` times the largest logit
magnitude.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from zoo.fileio import atomic_write_bytes

from .fuse import fuse_for_inference


@dataclass
class LogitDifference:
    """The largest absolute logit difference between two runs of a model, and the largest
    reference logit magnitude it is read against."""

    max_abs_diff: float
    logit_scale: float

    @property
    def relative_diff(self) -> float:
        return self.max_abs_diff / max(self.logit_scale, 1e-12)


@dataclass
class ExportReport(LogitDifference):
    """What :func:`export_onnx` wrote and how closely onnxruntime reproduces PyTorch."""

    path: str = ""
    fused_pairs: int = 0


class _Logits(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.model(inputs)


def onnxruntime_logits(path: str | os.PathLike, inputs: np.ndarray, threads: int = 1,
                       batch_size: int = 16) -> np.ndarray:
    """Logits of an exported file run by onnxruntime on the CPU, ``batch_size`` samples per
    run (a whole test split in one run holds every activation of every sample at once)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: inputs[i:i + batch_size]})[0]
                           for i in range(0, len(inputs), batch_size)])


@torch.no_grad()
def export_onnx(model: nn.Module, example: torch.Tensor, path: str | os.PathLike,
                fuse: bool = True, opset: int = 17, rtol: float = 1e-4) -> ExportReport:
    """Write ``model``'s logits graph for inputs shaped like ``example`` (any batch size) to
    ``path`` (through a temporary file), run it in onnxruntime and compare.

    Raises ``RuntimeError`` when onnxruntime's logits differ from PyTorch's by more than
    ``rtol`` times the largest logit magnitude.
    """
    model = model.eval()
    reference = model(example).float()
    # BatchNorm folding only: the eager-only rewrites would export other operators
    # (onnxruntime's kernels and int8 quantiser are tuned on the convolutions)
    net = fuse_for_inference(model, example, pointwise_gemm=False,
                             module_folds=False) if fuse else model
    buffer = io.BytesIO()
    torch.onnx.export(_Logits(net).eval(), (example,), buffer, dynamo=False,
                      input_names=["inputs"], output_names=["logits"], opset_version=opset,
                      dynamic_axes={"inputs": {0: "batch"}, "logits": {0: "batch"}})
    atomic_write_bytes(path, buffer.getvalue())
    logits = onnxruntime_logits(path, example.numpy())
    report = ExportReport(max_abs_diff=float(np.abs(logits - reference.numpy()).max()),
                          logit_scale=float(reference.abs().max()), path=str(path),
                          fused_pairs=len(getattr(net, "fused_pairs", ())))
    if report.relative_diff > rtol:
        raise RuntimeError(f"{path}: onnxruntime logits differ from PyTorch by "
                           f"{report.max_abs_diff:.3g} (> {rtol} x logit scale "
                           f"{report.logit_scale:.3g})")
    return report
