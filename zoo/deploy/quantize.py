"""Post-training int8 quantisation of an exported ONNX file for onnxruntime's CPU kernels.

Static quantisation (Jacob et al., "Quantization and Training of Neural Networks for Efficient
Integer-Arithmetic-Only Inference", CVPR 2018): weights int8 per output channel, activations
uint8 with ranges calibrated (min-max) on real inputs, written in the QDQ format that
onnxruntime fuses into integer convolutions and matrix products (u8 x s8, the pair its x86
kernels run with AVX-512 VNNI). The file is pre-processed first (shape inference, graph
optimisation), as onnxruntime's quantisation guide recommends.

Quantised by default (:data:`INT8_OPS`): convolutions, fully connected layers and the
element-wise and data-movement operators between them. Matrix products (``MatMul``: the GCNs'
graph aggregation, CTR-GC's activation-by-activation product, attention), normalisations and
softmax stay fp32: on the trained MSR Action3D ST-GCN, onnxruntime's full default set flipped
4 of 275 arg-maxes, this set none (``benchmarks/results/amp_agreement_msr*.md``), at a few
per cent of int8 speed.

The result is checked, not assumed: :func:`quantize_onnx_int8` runs the int8 and the fp32 file
on check inputs and raises when their arg-max predictions agree on fewer than
``min_agreement`` of them.
"""
from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.fileio import atomic_write_bytes

from .onnx_export import LogitDifference, onnxruntime_logits

INT8_OPS = ("Conv", "Gemm", "Add", "Mul", "Relu", "Concat", "MaxPool", "Split", "Transpose",
            "Reshape", "Squeeze", "Unsqueeze", "Gather", "Slice")


@dataclass
class QuantizeReport(LogitDifference):
    """What :func:`quantize_onnx_int8` wrote and how closely it follows the fp32 file."""

    path: str = ""
    quantized_nodes: int = 0
    argmax_agreement: float = 0.0


def _quantized_node_count(path: str | os.PathLike) -> int:
    import onnx

    return sum(node.op_type == "QuantizeLinear" for node in onnx.load(str(path)).graph.node)


def activation_products(model) -> list[str]:
    """Names of the ``MatMul`` nodes of the ONNX ``model`` whose operands are both computed
    (attention, CTR-GC's per-sample topology): no constant operand to quantise per channel."""
    constants = {t.name for t in model.graph.initializer}
    constants.update(out for node in model.graph.node if node.op_type == "Constant"
                     for out in node.output)
    return [node.name for node in model.graph.node
            if node.op_type == "MatMul" and not any(i in constants for i in node.input)]


def _reader(inputs: Sequence[np.ndarray], name: str):
    from onnxruntime.quantization import CalibrationDataReader

    class _Feeds(CalibrationDataReader):
        def __init__(self):
            self._items = iter(inputs)

        def get_next(self):
            item = next(self._items, None)
            return None if item is None else {name: np.ascontiguousarray(item, np.float32)}

    return _Feeds()


def quantize_onnx_int8(fp32_path: str | os.PathLike, out: str | os.PathLike,
                       calibration: Sequence[np.ndarray],
                       check: Sequence[np.ndarray] | None = None,
                       min_agreement: float = 0.995,
                       op_types: Sequence[str] = INT8_OPS,
                       fp32_nodes: Sequence[str] = ()) -> QuantizeReport:
    """Write an int8 (QDQ) copy of the ONNX file ``fp32_path`` to ``out`` (atomically).

    ``calibration``: input batches whose activation ranges set the uint8 scales (take them from
    the training split, never from the data the model is scored on). ``check``: batches on
    which the int8 file must reproduce the fp32 file's arg-max (default: the calibration
    batches). ``op_types``: the ONNX operator types to quantise (empty: every type onnxruntime
    can quantise, its own default); a listed ``MatMul`` quantises the products with a stored
    operand only (:func:`activation_products` stay fp32). ``fp32_nodes``: regular expressions;
    nodes whose names match one (``re.search``) stay fp32. Raises ``ValueError``
    without batches and ``RuntimeError`` (nothing written) when the agreement is below
    ``min_agreement``.
    """
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if not len(calibration):
        raise ValueError(f"{fp32_path}: int8 calibration needs at least one input batch")
    check = calibration if check is None else check
    name = onnx.load(str(fp32_path)).graph.input[0].name
    with tempfile.TemporaryDirectory(prefix="zoo_int8_") as tmp:
        prepared, quantized = Path(tmp) / "prepared.onnx", Path(tmp) / "int8.onnx"
        root = logging.getLogger()
        level = root.level
        # the quantiser logs a warning per rank-1 weight (BatchNorms it leaves per-tensor)
        root.setLevel(logging.ERROR)
        try:
            quant_pre_process(str(fp32_path), str(prepared))
            # a listed MatMul means the products with a weight; onnxruntime's own default
            # set (no list) also quantises the products of two activations
            prepared_model = onnx.load(str(prepared))
            keep_fp32 = activation_products(prepared_model) if op_types else []
            keep_fp32 += [node.name for node in prepared_model.graph.node
                          if any(re.search(p, node.name) for p in fp32_nodes)]
            quantize_static(str(prepared), str(quantized), _reader(calibration, name),
                            quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            op_types_to_quantize=list(op_types) or None,
                            nodes_to_exclude=keep_fp32)
        finally:
            root.setLevel(level)
        inputs = np.concatenate([np.asarray(x, np.float32) for x in check])  # dynamic batch
        ref, got = onnxruntime_logits(fp32_path, inputs), onnxruntime_logits(quantized, inputs)
        report = QuantizeReport(max_abs_diff=float(np.abs(got - ref).max()),
                                logit_scale=float(np.abs(ref).max()), path=str(out),
                                quantized_nodes=_quantized_node_count(quantized),
                                argmax_agreement=float((got.argmax(1) == ref.argmax(1)).mean()))
        if report.argmax_agreement < min_agreement:
            raise RuntimeError(
                f"{fp32_path}: the int8 model's arg-max agrees with fp32 on "
                f"{100 * report.argmax_agreement:.1f} % of {len(ref)} check inputs (< "
                f"{100 * min_agreement:.1f} %); keep the fp32 file, calibrate on more data or "
                f"keep the sensitive blocks fp32 (benchmarks/int8_sensitivity.py)")
        atomic_write_bytes(out, quantized.read_bytes())
    return report
