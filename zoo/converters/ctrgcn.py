"""CTR-GCN checkpoints -> zoo ``SkeletonRecognizer`` (``CTRGCN`` backbone + ``GCNHead``).

Two upstream layouts:

* official (Uason-Chen/CTR-GCN ``model/ctrgcn.py``): ``l{1..10}.gcn1.*``, ``l*.tcn1.*``,
  ``l*.residual.{conv,bn}``, ``data_bn``, ``fc``; build the zoo model with
  ``variant='official'``.
* PYSKL (``pyskl/models/gcns/ctrgcn.py``) and MMAction2 ``projects/ctrgcn``:
  ``backbone.net.{0..9}.gcn1.*`` (learnable adjacency called ``A``), ``backbone.A`` (the
  fixed graph buffer, dropped: the zoo rebuilds it from the config), ``backbone.data_bn``, and
  the head ``cls_head.fc_cls`` (PYSKL) or ``cls_head.fc`` (MMAction2 ``GCNHead``); build the
  zoo model with ``variant='pyskl'``.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from zoo.registry import CONVERTERS

from ._common import check_converted

_OFFICIAL_BLOCK = re.compile(r"l(\d+)\.(gcn1|tcn1|residual)\.(.+)")
_PYSKL_BLOCK = re.compile(r"backbone\.net\.(\d+)\.(gcn1|tcn1|residual)\.(.+)")
_PART = {"gcn1": "gcn", "tcn1": "tcn", "residual": "residual"}
_REQUIRED = ("backbone.data_bn.weight", "backbone.layers.0.gcn.adjacency",
             "backbone.layers.0.gcn.convs.0.conv4.weight", "cls_head.fc.weight",
             "cls_head.fc.bias")


_GCN_PARTS = ("alpha", "convs.", "down.", "bn.")


def _block_key(key: str, index: int, part: str, rest: str, adjacency_name: str,
               source: str) -> str:
    if part == "gcn1":
        if rest == adjacency_name:
            rest = "adjacency"
        elif not rest.startswith(_GCN_PARTS):
            raise KeyError(f"{source} checkpoint has an unexpected key {key!r}")
    return f"backbone.layers.{index}.{_PART[part]}.{rest}"


def _check_blocks(out: dict, source: str) -> dict:
    """Every block present from 0 to the last one, each with its adjacency."""
    blocks = sorted({int(k.split(".")[2]) for k in out if k.startswith("backbone.layers.")})
    for i in range(blocks[-1] + 1 if blocks else 0):
        key = f"backbone.layers.{i}.gcn.adjacency"
        if key not in out:
            raise KeyError(f"{source} checkpoint is missing the weights for {key!r} "
                           f"(block {i} absent or incomplete)")
    return check_converted(out, _REQUIRED, source)


@CONVERTERS.register_module()
def convert_ctrgcn_official(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename official keys: ``l{i}.gcn1.PA`` -> ``backbone.layers.{i-1}.gcn.adjacency``,
    ``l{i}.gcn1.*`` / ``tcn1.*`` / ``residual.*`` -> ``backbone.layers.{i-1}.gcn|tcn|residual.*``,
    ``data_bn`` -> ``backbone.data_bn``, ``fc`` -> ``cls_head.fc``.

    Raises ``KeyError`` naming an unexpected key or a missing one.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if key.startswith("data_bn."):
            out["backbone." + key] = value
        elif key in ("fc.weight", "fc.bias"):
            out["cls_head." + key] = value
        elif (m := _OFFICIAL_BLOCK.fullmatch(key)) is not None and int(m[1]) >= 1:
            out[_block_key(key, int(m[1]) - 1, m[2], m[3], "PA", "official CTR-GCN")] = value
        else:
            raise KeyError(f"official CTR-GCN checkpoint has an unexpected key {key!r}")
    return _check_blocks(out, "official CTR-GCN")


@CONVERTERS.register_module()
def convert_ctrgcn_pyskl(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename PYSKL / MMAction2 keys: ``backbone.net.{i}.gcn1.A`` ->
    ``backbone.layers.{i}.gcn.adjacency``, ``backbone.net.{i}.{gcn1,tcn1,residual}.*`` ->
    ``backbone.layers.{i}.{gcn,tcn,residual}.*``, ``backbone.data_bn`` kept,
    ``cls_head.fc_cls`` or ``cls_head.fc`` -> ``cls_head.fc``; the fixed graph buffer
    ``backbone.A`` is dropped.

    Raises ``KeyError`` naming an unexpected key or a missing one.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if key == "backbone.A":
            continue
        if key.startswith("backbone.data_bn."):
            out[key] = value
        elif key in ("cls_head.fc_cls.weight", "cls_head.fc_cls.bias", "cls_head.fc.weight",
                     "cls_head.fc.bias"):
            name = "cls_head.fc." + key.rsplit(".", 1)[1]
            if name in out:
                raise KeyError(f"PYSKL CTR-GCN checkpoint has both cls_head.fc and "
                               f"cls_head.fc_cls ({key!r})")
            out[name] = value
        elif (m := _PYSKL_BLOCK.fullmatch(key)) is not None:
            out[_block_key(key, int(m[1]), m[2], m[3], "A", "PYSKL CTR-GCN")] = value
        else:
            raise KeyError(f"PYSKL CTR-GCN checkpoint has an unexpected key {key!r}")
    return _check_blocks(out, "PYSKL CTR-GCN")
