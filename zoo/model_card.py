"""Model cards: what a checkpoint takes as input, what it predicts, how big it is, where from.

:func:`zoo.hub.card.entry_card` describes an index entry (``zoo info NAME``,
``zoo.model_info(NAME)['card']``; it lives with the hub, whose index it reads);
:func:`config_card` describes a config's model, and is what ``tools/train.py`` stores in each
checkpoint's ``meta['model_card']`` (:class:`zoo.engine.model_card_hook.ModelCardHook`);
:func:`checkpoint_card` reads it back from a file through the zoo's safe loader
(``zoo info PATH.pth``).

A card holds: classes (names, or where they are published), the input spec (skeletons: layout,
joints, persons, frames, channels, stream; images: size, normalisation, interpolation), the
test pipeline, parameters and GFLOPs (:mod:`zoo.analysis.complexity`), the published metric and
the zoo's measured one, licence, source and paper.
"""
from __future__ import annotations

import functools
import os
import re
from typing import Any

CARD_VERSION = 1

# entry-name prefix -> paper (checked in this order: stgcnpp before stgcn)
PAPERS = (
    ("stgcnpp", "PYSKL: Towards Good Practices for Skeleton Action Recognition (Duan et al., "
                "ACM MM 2022), https://arxiv.org/abs/2205.09443"),
    ("stgcn", "Spatial Temporal Graph Convolutional Networks for Skeleton-Based Action "
              "Recognition (Yan et al., AAAI 2018), https://arxiv.org/abs/1801.07455"),
    ("ctrgcn", "Channel-wise Topology Refinement Graph Convolution for Skeleton-Based Action "
               "Recognition (Chen et al., ICCV 2021), https://arxiv.org/abs/2107.12213"),
    ("skateformer", "SkateFormer: Skeletal-Temporal Transformer for Human Action Recognition "
                    "(Do and Kim, ECCV 2024), https://arxiv.org/abs/2403.09508"),
    ("resnet", "Deep Residual Learning for Image Recognition (He et al., CVPR 2016), "
               "https://arxiv.org/abs/1512.03385"),
    ("keypointrcnn", "Mask R-CNN (He et al., ICCV 2017), https://arxiv.org/abs/1703.06870"),
)
_NTU_LABELS = ("label k is NTU RGB+D action A{first:03d}+k (A{first:03d}-A{last:03d}); names: "
               "Shahroudy et al. CVPR 2016 / Liu et al. TPAMI 2019, and MMAction2's "
               "tools/data/skeleton/label_map_ntu{n}.txt (one name per line, label order)")
STREAMS = {"j": "joint", "b": "bone", "jm": "joint motion", "bm": "bone motion"}
# the zoo's own measurements of index entries (entry name -> metrics), where one was made
MEASURED_FILE = os.path.join("benchmarks", "results", "hub_measured.json")


def paper_of(name: str) -> str | None:
    """The paper behind an entry (by name prefix)."""
    return next((paper for prefix, paper in PAPERS if name.startswith(prefix)), None)


def classes_of(dataset: str, num_classes: int | None) -> Any:
    """Class names (a list) where the zoo can give them, else where they are published."""
    if dataset.startswith("ImageNet"):
        try:
            from timm.data import ImageNetInfo

            info = ImageNetInfo()
            return [info.index_to_description(i) for i in range(len(info.label_names()))]
        except Exception:  # noqa: BLE001 - an older timm: say where they are instead
            return "ImageNet-1k synsets (timm.data.ImageNetInfo)"
    if dataset.startswith("NTU RGB+D"):
        return _NTU_LABELS.format(first=1, last=num_classes or 0, n=num_classes)
    if dataset.startswith("NW-UCLA"):
        return "the 10 NW-UCLA actions, labels a01-a12 without a07/a10 in order (Wang et al. 2014)"
    if dataset.startswith("Kinetics"):
        return "the 400 Kinetics-400 classes in the order of mmskeleton's kinetics label file"
    return f"{num_classes} classes" if num_classes else None


@functools.lru_cache(maxsize=None)
def _complexity(config: str, num_classes: int | None, shape: tuple | None) -> dict:
    from mmengine.config import Config

    from zoo.analysis.complexity import config_complexity

    cfg = Config.fromfile(config)
    if num_classes is not None and "cls_head" in cfg.model:
        cfg.model.cls_head.num_classes = num_classes
    out = config_complexity(cfg, list(shape) if shape else None)
    return {"params": out["params"], "gflops": round(out["gflops"], 3), "flops_input": out["input"]}


def config_card(cfg: Any, model: Any = None, classes: Any = None) -> dict:
    """Card of a config's model (``cfg`` a path or ``Config``; ``model`` the built one, else it
    is built). Params / GFLOPs are counted on the spec's input (see :mod:`zoo.analysis`)."""
    from mmengine.config import Config

    from zoo.analysis.complexity import build_from_config, count_flops, count_params
    from zoo.analysis.input_spec import input_spec, pipeline_summary

    if not isinstance(cfg, Config):
        cfg = Config.fromfile(str(cfg))
    model = build_from_config(cfg) if model is None else model
    spec = input_spec(cfg, model)
    card: dict[str, Any] = {"card_version": CARD_VERSION,
                            "config": os.path.relpath(cfg.filename) if cfg.filename else None,
                            "model": cfg.model.get("type"), "classes": classes,
                            "input": spec, "pipeline": pipeline_summary(cfg)}
    if classes is None:
        head = cfg.model.get("cls_head") or {}
        num = head.get("num_classes", cfg.model.get("num_classes"))
        card["classes"] = f"{num} classes (names not in the config)" if num else None
    card["params"] = count_params(model)
    if spec and spec.get("shape"):
        import torch
        from mmengine.model import BaseModel

        # zeros, not randn: FLOPs do not depend on values, and drawing from the global
        # generator here would shift the training run's random stream
        x = torch.zeros(*spec["shape"], device=next(model.parameters()).device)
        kwargs = {"mode": "tensor"} if isinstance(model, BaseModel) else {}
        card["gflops"] = round(count_flops(model, x, **kwargs) / 1e9, 3)
        card["flops_input"] = spec["shape"]
    return card


# torchvision's GeneralizedRCNNTransform of KeypointRCNN_ResNet50_FPN_Weights (zoo.pose)
POSE_INPUT = {"kind": "image", "layout": "[C, H, W] RGB in [0, 1], any size",
              "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
              "output": "per person: box, score, 17 COCO keypoints (x, y, score)",
              "preprocessing": "scale to [0, 1]; the model resizes the shorter side to 800 "
                               "(longer at most 1333) and normalises with the ImageNet mean/std"}


def _image_input(entry: Any) -> dict | None:
    match = re.search(r"timm tag (\S+?)\)", entry.source) or re.search(
        r"huggingface\.co/timm/([^/]+)/", entry.safetensors_url or "")
    if not match:
        return None
    import timm

    cfg = timm.models.get_pretrained_cfg(match.group(1))
    if cfg is None:
        return None
    # evaluation size where timm records one apart from the training size (e.g. tv2: 176/224)
    size = tuple(getattr(cfg, "test_input_size", None) or cfg.input_size)
    crop = getattr(cfg, "test_crop_pct", None) or cfg.crop_pct
    return {"kind": "image", "layout": "[N, C, H, W] RGB", "size": list(size),
            "mean": list(cfg.mean), "std": list(cfg.std), "interpolation": cfg.interpolation,
            "crop_pct": crop, "shape": [1, *size],
            "preprocessing": f"resize to {round(size[-1] / crop)} "
                             f"({cfg.interpolation}), centre crop {size[-1]}, "
                             "scale to [0, 1], subtract mean, divide by std (timm "
                             f"{match.group(1)} pretrained_cfg)"}


_ORDER = ("card_version", "name", "task", "dataset", "classes", "num_classes", "input",
          "pipeline", "model", "params", "gflops", "flops_input", "published_metric",
          "measured_metric", "licence", "source", "paper", "weights", "converter", "config")


def _ordered(card: dict) -> dict:
    return {**{k: card[k] for k in _ORDER if k in card},
            **{k: v for k, v in card.items() if k not in _ORDER}}


@functools.lru_cache(maxsize=None)
def _arch_complexity(arch: str, num_classes: int | None, shape: tuple) -> dict:
    import timm
    import torch

    from zoo.analysis.complexity import count_flops, count_params

    library, _, name = arch.partition("/")
    if library != "timm":
        return {}
    model = timm.create_model(name, pretrained=False, num_classes=num_classes or 1000)
    return {"params": count_params(model),
            "gflops": round(count_flops(model, torch.randn(*shape)) / 1e9, 3),
            "flops_input": list(shape)}


def checkpoint_card(path: str | os.PathLike) -> dict:
    """The card stored in a checkpoint's ``meta['model_card']`` (loaded with the zoo's safe
    loader); a checkpoint without one gets what its ``meta`` says, marked as such."""
    from zoo.checkpoint import allow_mmengine_checkpoints, safe_torch_load

    allow_mmengine_checkpoints()
    obj = safe_torch_load(path)
    meta = obj.get("meta") if isinstance(obj, dict) else None
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: not a zoo / mmengine checkpoint (no 'meta' dict); a bare "
                         "state dict carries no model card")
    card = meta.get("model_card")
    if card is None:
        return {"model_card": "none (the checkpoint was not written by tools/train.py of this "
                              "zoo version)",
                "meta": {k: v for k, v in meta.items() if k not in ("cfg",)}}
    return dict(card)


def print_card(card: dict, indent: str = "  ") -> None:
    """Print a card as ``key  value`` lines (lists of classes shortened)."""
    width = max((len(k) for k in card), default=0)
    for key, value in card.items():
        if isinstance(value, dict):
            text = ", ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, list) and key == "classes" and len(value) > 12:
            text = ", ".join(map(str, value[:10])) + f", ... ({len(value)} in all)"
        elif isinstance(value, list) and key == "pipeline":
            text = ("\n" + indent + " " * (width + 2)).join(map(str, value)) or "-"
        else:
            text = "-" if value in (None, "") else str(value)
        print(f"{indent}{key.ljust(width)}  {text}")
