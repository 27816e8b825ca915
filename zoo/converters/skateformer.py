"""Official SkateFormer (KAIST-VICLab/SkateFormer ``model/SkateFormer.py``) checkpoints ->
zoo ``SkeletonRecognizer`` with a ``SkateFormer`` backbone and a ``GCNHead``."""
from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from zoo.registry import CONVERTERS

from ._common import check_converted

_EMBEDDING = {
    "joint_person_embedding": "backbone.embedding.joint_person_embedding",
    "joint_person_temporal_embedding": "backbone.embedding.joint_person_temporal_embedding",
}
_BLOCK = {  # official suffix in ``stages.i.blocks.j.transformer.`` -> zoo suffix in the block
    "norm_1.weight": "norm1.weight", "norm_1.bias": "norm1.bias",
    "mapping.weight": "in_proj.weight", "mapping.bias": "in_proj.bias",
    "gconv": "gconv.adjacency",
    "tconv.weight": "tconv.weight", "tconv.bias": "tconv.bias",
    "proj.weight": "out_proj.weight", "proj.bias": "out_proj.bias",
    "norm_2.weight": "norm2.weight", "norm_2.bias": "norm2.bias",
    "mlp.fc1.weight": "mlp.fc1.weight", "mlp.fc1.bias": "mlp.fc1.bias",
    "mlp.fc2.weight": "mlp.fc2.weight", "mlp.fc2.bias": "mlp.fc2.bias",
}
_DOWNSAMPLE = {
    "reduction.weight": "conv.weight", "reduction.bias": "conv.bias",
    **{f"bn.{k}": f"bn.{k}" for k in
       ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")},
}
_BLOCK_KEY = re.compile(r"stages\.(\d+)\.blocks\.(\d+)\.(transformer|downsample)\.(.+)")
_ATTN = re.compile(r"attention\.([0-3])\.(relative_position_bias_table|relative_position_index)")


def _relative_index(size: int) -> torch.Tensor:
    frames = torch.arange(size)
    return frames[:, None] - frames[None, :] + size - 1


@CONVERTERS.register_module()
def convert_skateformer_official(state_dict: Mapping[str, torch.Tensor]
                                 ) -> dict[str, torch.Tensor]:
    """Rename the official keys onto the zoo recogniser.

    ``stem.{0,2,4}`` -> ``backbone.embedding.stem.*``; ``stages.i.blocks.j.transformer.*`` ->
    ``backbone.stages.i.blocks.j.*`` (``mapping`` -> ``in_proj``, ``gconv`` ->
    ``gconv.adjacency``, ``proj`` -> ``out_proj``, ``attention.k.relative_position_bias_table``
    -> ``msa.k.rel_bias_table``); ``stages.i.blocks.0.downsample.{reduction,bn}`` ->
    ``backbone.stages.i.downsample.{conv,bn}``; ``head`` -> ``cls_head.fc``. The
    ``relative_position_index`` buffers are checked against the standard index and dropped
    (the zoo rebuilds them). Raises ``KeyError`` naming an unexpected or a missing official key.
    """
    out: dict[str, torch.Tensor] = {}
    blocks: set[tuple[int, int]] = set()
    has_rel = False
    for key, value in state_dict.items():
        if key.startswith("stem."):
            out["backbone.embedding." + key] = value
        elif key in _EMBEDDING:
            out[_EMBEDDING[key]] = value
        elif key in ("head.weight", "head.bias"):
            out["cls_head.fc." + key[5:]] = value
        elif (m := _BLOCK_KEY.fullmatch(key)) is None:
            raise KeyError(f"official SkateFormer checkpoint has an unexpected key {key!r}")
        else:
            stage, block, part, rest = int(m[1]), int(m[2]), m[3], m[4]
            blocks.add((stage, block))
            if part == "downsample":
                if block != 0 or rest not in _DOWNSAMPLE:
                    raise KeyError(f"official SkateFormer checkpoint has an unexpected key {key!r}")
                out[f"backbone.stages.{stage}.downsample.{_DOWNSAMPLE[rest]}"] = value
                continue
            prefix = f"backbone.stages.{stage}.blocks.{block}."
            if rest in _BLOCK:
                out[prefix + _BLOCK[rest]] = value
            elif (a := _ATTN.fullmatch(rest)) is None:
                raise KeyError(f"official SkateFormer checkpoint has an unexpected key {key!r}")
            elif a[2] == "relative_position_bias_table":
                has_rel = True
                out[prefix + f"msa.{a[1]}.rel_bias_table"] = value
            elif not torch.equal(value, _relative_index(value.shape[0])):
                raise ValueError(f"official SkateFormer checkpoint: {key!r} is not the standard "
                                 f"relative position index")
    _check_complete(state_dict, blocks, has_rel)
    return check_converted(out, required=("backbone.embedding.stem.0.weight", "cls_head.fc.weight"),
                           source="official SkateFormer")


def _check_complete(state_dict: Mapping[str, torch.Tensor], blocks: set[tuple[int, int]],
                    has_rel: bool) -> None:
    """Every block of every stage must carry all its official weights."""
    required = ["stem.0.weight", "stem.0.bias", "stem.2.weight", "stem.2.bias", "stem.4.weight",
                "stem.4.bias", "head.weight", "head.bias"]
    if not any(k in state_dict for k in _EMBEDDING):
        required.append("joint_person_embedding")
    num_stages = max((s for s, _ in blocks), default=-1) + 1
    if num_stages == 0:
        required.append("stages.0.blocks.0.transformer.mapping.weight")
    for stage in range(num_stages):
        depth = max((b for s, b in blocks if s == stage), default=0) + 1
        if stage > 0:
            required += [f"stages.{stage}.blocks.0.downsample.{k}" for k in _DOWNSAMPLE]
        for block in range(depth):
            prefix = f"stages.{stage}.blocks.{block}.transformer."
            required += [prefix + k for k in _BLOCK]
            if has_rel:
                required += [prefix + f"attention.{i}.relative_position_bias_table"
                             for i in range(4)]
    for key in required:
        if key not in state_dict:
            raise KeyError(f"official SkateFormer checkpoint is missing the key {key!r}")
