"""The model card of a pretrained index entry (``zoo info NAME``,
``zoo.model_info(NAME)['card']``); the card fields and the config / checkpoint cards are in
:mod:`zoo.model_card` (core), this module adds what the hub index knows."""
from __future__ import annotations

from typing import Any

from zoo.model_card import (
    CARD_VERSION,
    MEASURED_FILE,
    POSE_INPUT,
    STREAMS,
    _arch_complexity,
    _complexity,
    _image_input,
    _ordered,
    classes_of,
    paper_of,
)


def _measured(name: str) -> dict | None:
    import json

    from zoo.hub.api import REPO_ROOT

    path = REPO_ROOT / MEASURED_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text()).get(name)


def entry_card(name: str, complexity: bool = True) -> dict:
    """The card of index entry ``name`` (builds its model for params / GFLOPs unless
    ``complexity=False``)."""
    from zoo.hub.api import _find_config
    from zoo.hub.index import POSE, get_entry

    entry = get_entry(name)
    card: dict[str, Any] = {
        "card_version": CARD_VERSION, "name": entry.name, "task": entry.task,
        "dataset": entry.dataset, "classes": classes_of(entry.dataset, entry.num_classes),
        "num_classes": entry.num_classes, "published_metric": entry.metric,
        "measured_metric": _measured(entry.name) or "not measured by the zoo",
        "licence": entry.licence, "source": entry.source, "paper": paper_of(entry.name),
        "weights": entry.urls[0], "converter": entry.converter, "config": entry.config,
    }
    if entry.task == POSE:
        card["input"] = POSE_INPUT
        card["pipeline"] = [POSE_INPUT["preprocessing"]]
        card["model"] = "torchvision keypointrcnn_resnet50_fpn (POSE_ESTIMATORS 'keypoint_rcnn')"
        card["classes"] = ["background", "person"]
        return _ordered(card)
    if entry.arch is not None:
        card["input"] = _image_input(entry)
        card["pipeline"] = [card["input"]["preprocessing"]] if card["input"] else None
        card["model"] = entry.arch
        if complexity and card["input"]:
            card.update(_arch_complexity(entry.arch, entry.num_classes,
                                         tuple(card["input"]["shape"])))
        return _ordered(card)
    found = _find_config(entry.config) if entry.config else None
    if found is None:
        card["input"] = None
        return _ordered(card)
    from mmengine.config import Config

    from zoo.analysis.input_spec import input_spec, pipeline_summary

    cfg = Config.fromfile(str(found))
    spec = input_spec(cfg)
    if spec and spec.get("kind") == "skeleton":
        stream = entry.stream or (spec.get("streams") or ["j"])[0]
        spec["stream"] = f"{stream} ({STREAMS.get(stream, stream)})"
        if "2-D" in entry.dataset:
            spec["channels_meaning"] = "x, y, keypoint score"
        elif spec.get("channels") == 3:
            spec["channels_meaning"] = "x, y, z"
    card["model"] = cfg.model.get("backbone", {}).get("type") or cfg.model.get("type")
    card["pipeline"] = pipeline_summary(cfg) or (
        f"none in the config (model-only); make the {entry.stream or 'j'} stream of the "
        "keypoints with GenSkeFeat as the 3-D configs do" if spec else None)
    if complexity:
        try:
            card.update(_complexity(str(found), entry.num_classes, None))
        except (ValueError, KeyError) as exc:
            card["params"] = card["gflops"] = f"not counted ({exc})"
        spec = dict(spec or {}, shape=card.get("flops_input", (spec or {}).get("shape")))
    card["input"] = spec
    return _ordered(card)
