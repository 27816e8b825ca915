"""PYSKL / MMAction2 1.x ST-GCN checkpoints -> zoo ``SkeletonRecognizer`` (``PysklSTGCN``
backbone + ``GCNHead``).

Upstream layout (``pyskl/models/gcns/stgcn.py`` + ``utils/gcn.py``/``tcn.py``, MMAction2
``mmaction/models/backbones/stgcn.py`` + ``utils/gcn_utils.py``): ``backbone.data_bn.*``,
``backbone.gcn.{i}.gcn.{A,PA,conv,bn,down}.*`` (graph unit; ``A`` is a buffer, or a parameter
for ``gcn_adaptive='init'``), ``backbone.gcn.{i}.tcn.*`` (``unit_tcn`` or ``mstcn``),
``backbone.gcn.{i}.residual.{conv,bn}.*``, and the head ``cls_head.fc_cls.*`` (PYSKL) or
``cls_head.fc.*`` (MMAction2 ``GCNHead``). The zoo uses the same sub-module names under
``backbone.layers.{i}`` and ``cls_head.fc``.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from zoo.registry import CONVERTERS

from ._common import check_converted

SOURCE = "PYSKL/MMAction2 ST-GCN"
_BLOCK = re.compile(r"backbone\.gcn\.(\d+)\.(gcn|tcn|residual)\.(.+)")
_GCN_PARTS = re.compile(r"(A|PA|(conv|bn|down\.[01])\.(weight|bias|running_mean|running_var|"
                        r"num_batches_tracked))")
_HEADS = {f"cls_head.{name}.{p}": f"cls_head.fc.{p}" for name in ("fc_cls", "fc")
          for p in ("weight", "bias")}
_REQUIRED = ("backbone.layers.0.gcn.A", "backbone.layers.0.gcn.conv.weight",
             "cls_head.fc.weight", "cls_head.fc.bias")


def _check_blocks(out: dict) -> None:
    """Blocks numbered 0..last without a gap, each with its graph unit."""
    blocks = {int(k.split(".")[2]) for k in out if k.startswith("backbone.layers.")}
    for i in range(max(blocks) + 1 if blocks else 0):
        for part in ("A", "conv.weight", "bn.weight"):
            key = f"backbone.layers.{i}.gcn.{part}"
            if key not in out:
                raise KeyError(f"{SOURCE} checkpoint is missing the weights for {key!r} "
                               f"(block {i} absent or incomplete)")


@CONVERTERS.register_module()
def convert_stgcn_pyskl(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename ``backbone.gcn.{i}.{gcn,tcn,residual}.*`` -> ``backbone.layers.{i}.*``,
    ``cls_head.fc_cls.*`` or ``cls_head.fc.*`` -> ``cls_head.fc.*``; ``backbone.data_bn.*``
    is kept. Each block's graph buffer ``A`` is kept: loading it replaces the adjacency the
    zoo config built, exactly as upstream (the index configs build the same graph; the tests
    compare them).

    Raises ``KeyError`` naming an unexpected key (e.g. a CTR-GCN or official-ST-GCN
    checkpoint) or a missing one.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if key.startswith("backbone.data_bn."):
            out[key] = value
        elif key in _HEADS:
            name = _HEADS[key]
            if name in out:
                raise KeyError(f"{SOURCE} checkpoint has both cls_head.fc and cls_head.fc_cls "
                               f"({key!r})")
            out[name] = value
        elif (m := _BLOCK.fullmatch(key)) is not None:
            if m[2] == "gcn" and _GCN_PARTS.fullmatch(m[3]) is None:
                raise KeyError(f"{SOURCE} checkpoint has an unexpected key {key!r} (not a "
                               "unit_gcn weight)")
            out[f"backbone.layers.{m[1]}.{m[2]}.{m[3]}"] = value
        else:
            raise KeyError(f"{SOURCE} checkpoint has an unexpected key {key!r}")
    _check_blocks(out)
    return check_converted(out, _REQUIRED, SOURCE)
