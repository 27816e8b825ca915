"""Official ST-GCN (yysijie/st-gcn ``net/st_gcn.py``) checkpoints -> zoo ``SkeletonRecognizer``."""
from __future__ import annotations

import re
from typing import Mapping

import torch

from zoo.registry import CONVERTERS

from ._common import check_converted


@CONVERTERS.register_module()
def convert_stgcn_official(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename official keys: ``st_gcn_networks.i`` -> ``backbone.layers.i``,
    ``edge_importance``/``data_bn``/``A`` -> ``backbone.*``, ``fcn`` (1x1 conv) -> ``cls_head.fc``.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if key.startswith("fcn."):
            out["cls_head.fc." + key[4:]] = value.reshape(value.shape[0], -1) \
                if key.endswith("weight") else value
        elif key.startswith("st_gcn_networks."):
            out[re.sub(r"^st_gcn_networks\.", "backbone.layers.", key)] = value
        elif key == "A" or key.startswith(("data_bn.", "edge_importance.")):
            out["backbone." + key] = value
        else:
            raise KeyError(f"official ST-GCN checkpoint has an unexpected key {key!r}")
    return check_converted(out, required=("backbone.data_bn.weight", "cls_head.fc.weight"),
                           source="official ST-GCN")

