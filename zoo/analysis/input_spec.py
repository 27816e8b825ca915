"""What input a config's model takes, read from the config (and the built model).

For skeleton recognisers: joint layout, joints V, persons M, frames T, channels C, streams
(``GenSkeFeat`` feats) and the ``[1, M, T, V, C]`` clip shape. Frames come from the test
pipeline's ``UniformSampleFrames`` (GCNs accept any T; a model-only config without a pipeline
gets :data:`DEFAULT_FRAMES`, the PYSKL / MMAction2 test protocol, and says so). For other
models: the data preprocessor's normalisation and the pipeline's image size where a config
states them.
"""
from __future__ import annotations

from typing import Any

DEFAULT_FRAMES = 100


def _pipeline(cfg: Any) -> list[dict]:
    for key in ("test_pipeline", "val_pipeline", "train_pipeline"):
        if cfg.get(key):
            return [dict(step) for step in cfg[key]]
    for key in ("test_dataloader", "val_dataloader", "train_dataloader"):
        loader = cfg.get(key) or {}
        pipeline = (loader.get("dataset") or {}).get("pipeline")
        if pipeline:
            return [dict(step) for step in pipeline]
    return []


def pipeline_summary(cfg: Any) -> list[str]:
    """The test pipeline as ``Type(arg=value, ...)`` strings."""
    out = []
    for step in _pipeline(cfg):
        kind = step.pop("type", "?")
        kind = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
        args = ", ".join(f"{k}={v!r}" for k, v in step.items())
        out.append(f"{kind}({args})")
    return out


def _step(pipeline: list[dict], name: str) -> dict | None:
    return next((s for s in pipeline if s.get("type") == name), None)


def _first_attr(obj: Any, paths: tuple[str, ...]) -> Any:
    for path in paths:
        value = obj
        for part in path.split("."):
            value = getattr(value, part, None)
            if value is None:
                break
        if value is not None:
            return value
    return None


def _layout_joints(layout: str) -> int | None:
    """Joints of a named layout. Read through the module of the registered ``GenSkeFeat``
    (which resolves layout names), so that this core module does not import the skeleton
    package (DESIGN.md layers)."""
    import sys

    from mmengine.registry import DefaultScope

    from zoo.registry import TRANSFORMS

    with DefaultScope.overwrite_default_scope("zoo"):
        transform = TRANSFORMS.get("GenSkeFeat")
    get_layout = getattr(sys.modules.get(getattr(transform, "__module__", "")), "get_layout",
                         None)
    try:
        return int(get_layout(layout).num_joints) if get_layout else None
    except (KeyError, ValueError, AttributeError):
        return None


def _is_skeleton(cfg: Any) -> bool:
    pipeline = _pipeline(cfg)
    backbone = (cfg.get("model") or {}).get("backbone") or {}
    return (_step(pipeline, "FormatGCNInput") is not None or "graph_cfg" in backbone
            or "layout" in backbone or cfg.get("model", {}).get("type") == "SkeletonRecognizer")


def input_spec(cfg: Any, model: Any = None) -> dict | None:
    """The model's input as a dict (``None`` when the config states nothing usable)."""
    pipeline = _pipeline(cfg)
    if _is_skeleton(cfg):
        backbone_cfg = (cfg.get("model") or {}).get("backbone") or {}
        backbone = getattr(model, "backbone", None)
        feat = _step(pipeline, "GenSkeFeat") or {}
        layout = (feat.get("layout") or (backbone_cfg.get("graph_cfg") or {}).get("layout")
                  or backbone_cfg.get("layout") or cfg.get("layout"))
        joints = _first_attr(backbone, ("layout.num_joints", "graph.layout.num_joints",
                                        "num_joints", "graph.num_nodes"))
        if joints is None and backbone is not None and hasattr(backbone, "A"):
            joints = int(backbone.A.shape[-1])
        if joints is None and layout:
            joints = _layout_joints(layout)
        fmt = _step(pipeline, "FormatGCNInput")
        persons = (fmt or {}).get("num_person") or _first_attr(
            backbone, ("num_person", "num_persons")) or backbone_cfg.get("num_person") or 2
        sampler = _step(pipeline, "UniformSampleFrames")
        frames = (sampler or {}).get("clip_len") or backbone_cfg.get("num_frames") or \
            _first_attr(backbone, ("num_frames",))
        frames_note = "test pipeline clip_len" if sampler else "model (num_frames)"
        if not frames:
            frames, frames_note = DEFAULT_FRAMES, (
                "not fixed by the config (GCNs take any T); "
                f"{DEFAULT_FRAMES} as the PYSKL / MMAction2 test protocol")
        channels = _first_attr(backbone, ("in_channels",)) or backbone_cfg.get("in_channels", 3)
        spec = {
            "kind": "skeleton", "layout": layout, "joints": joints, "persons": int(persons),
            "frames": int(frames), "frames_from": frames_note, "channels": int(channels),
            "streams": list(feat.get("feats", [])) or None,
            "clips": (sampler or {}).get("num_clips", 1),
            "tensor_layout": "[N, M, T, V, C]",
        }
        if joints:
            spec["shape"] = [1, spec["persons"], spec["frames"], int(joints), spec["channels"]]
        return spec
    preprocessor = (cfg.get("model") or {}).get("data_preprocessor") or {}
    spec: dict[str, Any] = {"kind": "other"}
    for key in ("mean", "std", "bgr_to_rgb"):
        if key in preprocessor:
            spec[key] = preprocessor[key]
    for step in pipeline:
        for key in ("scale", "size", "crop_size", "img_scale", "patch_size", "tile_size"):
            if key in step:
                spec[f"{step['type']}.{key}"] = step[key]
    return spec if len(spec) > 1 else None
