"""Put what prediction needs into every checkpoint a training run saves.

``checkpoint['meta']['inference']`` = ``dict(classes, layout, test_pipeline, version)``:
the class names of the training set, its joint layout (a name or the inline dict), and the
test pipeline of the config (``test_dataloader``, else ``val_dataloader``). With it,
:func:`zoo.apis.init_recognizer` / :func:`zoo.apis.inference_skeleton` need no data set.
``tools/train.py`` adds :class:`InferenceMetaHook` to every run (:func:`add_inference_meta_hook`).
"""
from __future__ import annotations

import copy
from typing import Any

from mmengine.hooks import Hook

from zoo.registry import HOOKS

from .hook_config import add_custom_hook

META_KEY = "inference"
META_VERSION = 1


def _plain(obj: Any) -> Any:
    """ConfigDicts / tuples -> plain dicts and lists (picklable by weights_only loading)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return str(obj)


def config_test_pipeline(cfg) -> list | None:
    """The pipeline of the config's test (else val) data set, or ``None``."""
    for key in ("test_dataloader", "val_dataloader"):
        loader = cfg.get(key)
        dataset = loader.get("dataset") if isinstance(loader, dict) else None
        if isinstance(dataset, dict) and dataset.get("pipeline"):
            return _plain(copy.deepcopy(dataset["pipeline"]))
    return None


def inference_meta(cfg, dataset_meta: dict | None) -> dict:
    """The ``meta['inference']`` dict of a run with config ``cfg`` and training-set metainfo
    ``dataset_meta``."""
    dataset_meta = dataset_meta or {}
    classes = dataset_meta.get("classes")
    return dict(version=META_VERSION,
                classes=[str(c) for c in classes] if classes else None,
                layout=_plain(dataset_meta.get("layout")),
                test_pipeline=config_test_pipeline(cfg))


@HOOKS.register_module()
class InferenceMetaHook(Hook):
    """Write :func:`inference_meta` into each saved checkpoint (see the module docstring)."""

    priority = "VERY_LOW"

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        try:  # custom loops (e.g. continual) may hold no single training data loader
            dataset = getattr(runner.train_dataloader, "dataset", None)
        except (AttributeError, TypeError, KeyError):
            dataset = None
        meta = checkpoint.setdefault("meta", {})
        meta[META_KEY] = inference_meta(runner.cfg, getattr(dataset, "metainfo", None))


def add_inference_meta_hook(cfg) -> None:
    """Append :class:`InferenceMetaHook` to ``cfg.custom_hooks`` unless it is there."""
    add_custom_hook(cfg, InferenceMetaHook)
