"""Prediction for one skeleton input without a data set (MMAction2's ``init_recognizer`` /
``inference_skeleton``, Duan et al., "Revisiting Skeleton-based Action Recognition", CVPR
2022, for the PYSKL test protocol).

``init_recognizer`` builds the model through :func:`zoo.apis.init_model` and takes the class
names, joint layout and test pipeline from the checkpoint's ``meta['inference']`` (written by
``tools/train.py``, see :mod:`zoo.engine.inference_meta`). ``inference_skeleton`` runs that
pipeline on keypoints, a sample dict or a clip file and returns the top-k
``(class name, score)``, exactly as ``tools/test.py`` scores a test sample.
"""
from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .model import ConfigLike, init_model

__all__ = ["InferenceMetaError", "init_recognizer", "inference_skeleton", "skeleton_sample"]


class InferenceMetaError(ValueError):
    """A checkpoint lacks what prediction needs (class names, test pipeline)."""


def _resolve_zoo_name(config: Any, checkpoint: Any) -> tuple[Any, Any]:
    """``config`` given as an index name / ``zoo://NAME``: its config file and checkpoint."""
    if not isinstance(config, str):
        return config, checkpoint
    from zoo.hub.api import ZOO_SCHEME, _find_config
    from zoo.hub.index import MODEL_INDEX, get_entry

    name = config[len(ZOO_SCHEME):] if config.startswith(ZOO_SCHEME) else config
    if Path(config).is_file() or (name not in MODEL_INDEX and not config.startswith(ZOO_SCHEME)):
        return config, checkpoint
    entry = get_entry(name)
    if entry.config is None:
        raise ValueError(f"zoo entry {name!r} has no zoo config (it is not a recogniser)")
    found = _find_config(entry.config)
    if found is None:
        raise FileNotFoundError(f"config {entry.config} of zoo entry {name!r} is not in this "
                                "checkout")
    return str(found), checkpoint if checkpoint is not None else ZOO_SCHEME + name


def _config_from_checkpoint(checkpoint) -> Any:
    """The config text mmengine stores in ``meta['cfg']`` of the runner's checkpoints."""
    from mmengine.config import Config

    from zoo.checkpoint import safe_torch_load

    raw = safe_torch_load(Path(checkpoint))
    text = (raw.get("meta") or {}).get("cfg") if isinstance(raw, dict) else None
    if not text:
        raise InferenceMetaError(f"{checkpoint}: holds no config (meta['cfg']); pass the "
                                 "config file to init_recognizer(config, checkpoint)")
    return Config.fromstring(text, ".py")


def init_recognizer(config: ConfigLike | str | None, checkpoint: str | os.PathLike | None = None,
                    device: str | torch.device = "cpu", *,
                    classes: Sequence[str] | None = None, test_pipeline: list | None = None,
                    cfg_options: dict | None = None, amp: bool = False) -> nn.Module:
    """A recogniser ready for :func:`inference_skeleton`.

    Args:
        config: config file / ``Config``, a zoo index name (``'ctrgcn_ntu60_xsub_joint'`` or
            ``'zoo://...'``; its checkpoint is the default), or ``None`` to use the config
            stored in the checkpoint by the training run.
        checkpoint: path, ``zoo://NAME`` or URL.
        device: torch device.
        classes / test_pipeline: override (or supply, for checkpoints not written by
            ``tools/train.py``, e.g. the hub's converted upstream weights) what
            ``meta['inference']`` holds.
        amp: :func:`inference_skeleton` runs the model under bf16 autocast by default
            (:func:`zoo.engine.amp.bf16_autocast`; ``model.inference_amp``).

    The returned model has ``model.inference_meta`` = ``dict(classes, layout, test_pipeline)``.
    Raises :class:`InferenceMetaError` naming what is missing and what to pass.
    """
    config, checkpoint = _resolve_zoo_name(config, checkpoint)
    if config is None:
        if checkpoint is None or "://" in os.fspath(checkpoint):
            raise ValueError("init_recognizer(None, ...) reads the config from a local "
                             "checkpoint file; pass the config for a URL / zoo:// checkpoint")
        config = _config_from_checkpoint(checkpoint)
    model = init_model(config, checkpoint, device=device, cfg_options=cfg_options)
    ckpt_meta = getattr(model, "checkpoint_meta", None) or {}
    stored = ckpt_meta.get("inference") or {}
    dataset_meta = ckpt_meta.get("dataset_meta") or {}
    from zoo.engine.inference_meta import config_test_pipeline

    classes = list(classes) if classes is not None else (
        stored.get("classes") or list(dataset_meta.get("classes") or []) or None)
    pipeline = test_pipeline if test_pipeline is not None else (
        stored.get("test_pipeline") or config_test_pipeline(model.cfg))
    missing = [name for name, value in (("classes", classes), ("test_pipeline", pipeline))
               if not value]
    if missing:
        where = os.fspath(checkpoint) if checkpoint is not None else "the model"
        raise InferenceMetaError(
            f"{where}: no {' and no '.join(missing)} in its meta['inference'] (it was not saved "
            "by the zoo's tools/train.py) nor in the config; pass them: "
            "init_recognizer(config, checkpoint, classes=[...class names in label order...], "
            "test_pipeline=[...the config's test pipeline...])")
    num_classes = getattr(getattr(model, "cls_head", None), "num_classes", None)
    if num_classes is not None and num_classes != len(classes):
        raise InferenceMetaError(f"{len(classes)} class names for a model with {num_classes} "
                                 "outputs")
    model.inference_meta = dict(classes=list(classes), test_pipeline=copy.deepcopy(pipeline),
                                layout=stored.get("layout", dataset_meta.get("layout")))
    model.inference_amp = bool(amp)
    return model


def _is_2d(pipeline: list) -> bool:
    return any(str(step.get("type", "")).endswith("PreNormalize2D") for step in pipeline)


def skeleton_sample(data: Any, pipeline: list, *, keypoint_score: np.ndarray | None = None,
                    img_shape: tuple[int, int] | None = None, frame_dir: str | None = None
                    ) -> dict:
    """The common sample dict for ``data``: an array ``[M, T, V, C]`` / ``[T, V, C]``, a
    sample dict (copied), or a clip file (``.npy`` / ``.json`` COCO2D clip, or a PYSKL
    ``.pkl`` with ``frame_dir``). For 2-D pipelines (``PreNormalize2D``) a last channel of 3
    is ``x, y, score``."""
    if isinstance(data, dict):
        sample = copy.deepcopy(data)
    elif isinstance(data, (str, os.PathLike)):
        sample = _read_file(Path(data), frame_dir)
    else:
        kp = data.detach().cpu().numpy() if isinstance(data, torch.Tensor) else np.asarray(data)
        kp = kp.astype(np.float32)
        if kp.ndim == 3:
            kp = kp[None]
        if kp.ndim != 4:
            raise ValueError(f"keypoints must be [M, T, V, C] or [T, V, C], got {kp.shape}")
        sample = dict(keypoint=kp)
        if keypoint_score is None and _is_2d(pipeline) and kp.shape[-1] == 3:
            sample = dict(keypoint=np.ascontiguousarray(kp[..., :2]),
                          keypoint_score=np.ascontiguousarray(kp[..., 2]))
    if keypoint_score is not None:
        sample["keypoint_score"] = np.asarray(keypoint_score, np.float32)
    if img_shape is not None:
        sample["img_shape"] = tuple(img_shape)
    if sample["keypoint"].shape[1] == 0:
        raise ValueError(f"{sample.get('frame_dir', 'input')}: no frames")
    sample.setdefault("total_frames", sample["keypoint"].shape[1])
    sample.setdefault("frame_dir", frame_dir or "input")
    sample.pop("label", None)
    return sample


def _read_file(path: Path, frame_dir: str | None) -> dict:
    if path.suffix in (".npy", ".json"):
        from zoo.datasets.skeleton.coco2d import read_coco2d_clip

        sample = read_coco2d_clip(path)
        sample["frame_dir"] = path.stem
        return sample
    if path.suffix == ".pkl":
        from zoo.datasets.skeleton.pyskl import load_pyskl

        anns = load_pyskl(path)["annotations"]
        if frame_dir is None and len(anns) != 1:
            raise ValueError(f"{path}: holds {len(anns)} samples; pass frame_dir=NAME")
        match = [a for a in anns if frame_dir is None or a["frame_dir"] == frame_dir]
        if not match:
            raise KeyError(f"{path}: no sample with frame_dir {frame_dir!r}")
        return dict(match[0])
    raise ValueError(f"{path}: unsupported file (use .npy / .json COCO2D clips or a PYSKL .pkl)")


def inference_skeleton(model: nn.Module, data: Any, topk: int = 3, *, amp: bool | None = None,
                       **sample_kwargs) -> list[tuple[str, float]]:
    """Top-``topk`` ``(class name, probability)`` for one input (see :func:`skeleton_sample`),
    best first; ``model`` comes from :func:`init_recognizer`. ``amp``: bf16 autocast (default:
    the ``amp`` given to :func:`init_recognizer`); the softmax is taken in fp32."""
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope

    from zoo.engine.amp import bf16_autocast

    meta = getattr(model, "inference_meta", None)
    if meta is None:
        raise InferenceMetaError("the model has no inference_meta: build it with "
                                 "zoo.apis.init_recognizer(config, checkpoint)")
    sample = skeleton_sample(data, meta["test_pipeline"], **sample_kwargs)
    with DefaultScope.overwrite_default_scope("zoo"):
        packed = Compose(copy.deepcopy(meta["test_pipeline"]))(sample)
    batch = dict(inputs=[packed["inputs"]], data_samples=[packed["data_samples"]])
    if amp is None:
        amp = getattr(model, "inference_amp", False)
    with torch.no_grad(), bf16_autocast(model, enabled=amp):
        out = model.test_step(batch)
    scores = out[0].pred_score.float().cpu()
    k = min(topk, len(scores))
    values, indices = scores.topk(k)
    return [(meta["classes"][i], float(v)) for v, i in zip(values.tolist(), indices.tolist())]
