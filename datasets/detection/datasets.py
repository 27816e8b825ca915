"""Detection datasets: generated RGB / IR scenes and a COCO-style reader for IR images."""
from __future__ import annotations

import json
import os
import os.path as osp

import numpy as np
from mmengine.dataset import BaseDataset

from zoo.registry import DATASETS

from .scenes import CLASSES, make_scene

# split -> (default number of images, seed stream)
SCENE_SPLITS = {"train": (400, 0), "val": (60, 1), "test": (100, 2)}
MODALITIES = ("ir", "rgb")


def _check_modality(modality: str, owner: str) -> None:
    if modality not in MODALITIES:
        raise ValueError(f"{owner}: modality must be one of {MODALITIES}, got {modality!r}")


@DATASETS.register_module()
class SyntheticIRScenes(BaseDataset):
    """Aligned RGB / infrared-like scenes with disks, squares and triangles pasted into real
    scikit-image photographs (``scenes.make_scene``), for ModTr experiments and tests.

    Args:
        split: ``'train'`` (400 images), ``'val'`` (60) or ``'test'`` (100).
        modality: ``'ir'`` (single channel) or ``'rgb'`` (3 channels) images as ``img``.
        num_samples: overrides the split's size.
        size: image side in pixels.
        max_objects: 1..max_objects objects per image.
        seed: every image is a pure function of ``(seed, split, index)``; the RGB and IR
            versions of an index show the same scene and boxes.
    Samples: ``img`` uint8 [S, S, C], ``bboxes`` float32 [N, 4] (x1, y1, x2, y2), ``labels``
    int64 [N] (1 = disk, 2 = square, 3 = triangle), ``img_id``, ``sample_idx``.
    """

    METAINFO = dict(classes=CLASSES)

    def __init__(self, split: str = "train", modality: str = "ir", num_samples: int | None = None,
                 size: int = 128, max_objects: int = 3, seed: int = 0,
                 pipeline: list | None = None, **kwargs):
        if split not in SCENE_SPLITS:
            raise ValueError(f"SyntheticIRScenes split must be one of {sorted(SCENE_SPLITS)}, "
                             f"got {split!r}")
        _check_modality(modality, "SyntheticIRScenes")
        default_n, self.stream = SCENE_SPLITS[split]
        self.split, self.modality, self.size = split, modality, size
        self.max_objects, self.seed = max_objects, seed
        self.num_samples = default_n if num_samples is None else int(num_samples)
        kwargs.setdefault("serialize_data", False)
        super().__init__(pipeline=pipeline or [dict(type="PackDetInputs")], **kwargs)

    def load_data_list(self) -> list[dict]:
        data = []
        for i in range(self.num_samples):
            scene = make_scene((self.seed, self.stream, i), self.size, self.max_objects)
            data.append(dict(img=scene[self.modality], bboxes=scene["bboxes"],
                             labels=scene["labels"], img_id=i, sample_idx=i,
                             img_path=f"{self.split}_{i:04d}.png"))
        return data


class DetAnnotationError(ValueError):
    """A COCO annotation file is malformed; the message names the file and the entry."""


def _load_json(path: str) -> dict:
    if not osp.isfile(path):
        raise FileNotFoundError(f"annotation file {path} does not exist")
    try:
        with open(path, encoding="utf-8") as f:
            ann = json.load(f)
    except json.JSONDecodeError as exc:
        raise DetAnnotationError(f"annotation file {path} is not valid JSON: {exc}") from exc
    for key in ("images", "annotations", "categories"):
        if not isinstance(ann, dict) or key not in ann:
            raise DetAnnotationError(f"annotation file {path} has no {key!r} list (COCO format "
                                     f"needs images, annotations and categories)")
    return ann


def parse_coco(ann_file: str, img_root: str, box_tolerance: float = 1.0
               ) -> tuple[list[dict], tuple[str, ...]]:
    """Read a COCO detection file; return samples (``img_path``, ``height``, ``width``,
    ``bboxes`` x1y1x2y2, ``labels`` 1..K in sorted category-id order, ``img_id``) and the
    class names. Crowd boxes are left out. Every referenced image must exist and every box
    must lie inside its image (up to ``box_tolerance`` pixels)."""
    ann = _load_json(ann_file)
    cats = sorted(ann["categories"], key=lambda c: c["id"])
    cat_to_label = {c["id"]: i + 1 for i, c in enumerate(cats)}
    images: dict[int, dict] = {}
    for im in ann["images"]:
        for key in ("id", "file_name", "height", "width"):
            if key not in im:
                raise DetAnnotationError(f"{ann_file}: image entry {im} has no {key!r}")
        path = osp.join(img_root, im["file_name"])
        if not osp.isfile(path):
            raise FileNotFoundError(f"image {path} (id {im['id']}) referenced by {ann_file} "
                                    f"does not exist")
        images[im["id"]] = dict(img_path=path, height=int(im["height"]),
                                width=int(im["width"]), img_id=int(im["id"]), bboxes=[],
                                labels=[])
    for a in ann["annotations"]:
        if a.get("iscrowd", 0):
            continue
        img = images.get(a.get("image_id"))
        if img is None:
            raise DetAnnotationError(f"{ann_file}: annotation {a.get('id')} refers to image id "
                                     f"{a.get('image_id')}, which is not in 'images'")
        if a.get("category_id") not in cat_to_label:
            raise DetAnnotationError(f"{ann_file}: annotation {a.get('id')} has category "
                                     f"{a.get('category_id')}, not in 'categories'")
        box = a.get("bbox")
        if not isinstance(box, (list, tuple)) or len(box) != 4:
            raise DetAnnotationError(f"{ann_file}: annotation {a.get('id')} bbox must be "
                                     f"[x, y, w, h], got {box!r}")
        x, y, w, h = (float(v) for v in box)
        tol = box_tolerance
        if w <= 0 or h <= 0:
            raise DetAnnotationError(f"{ann_file}: annotation {a.get('id')} of "
                                     f"{img['img_path']} has an empty box {box}")
        if x < -tol or y < -tol or x + w > img["width"] + tol or y + h > img["height"] + tol:
            raise DetAnnotationError(
                f"{ann_file}: annotation {a.get('id')} box {box} (x, y, w, h) lies outside "
                f"image {img['img_path']} of size {img['width']}x{img['height']}")
        img["bboxes"].append([max(x, 0.0), max(y, 0.0), min(x + w, img["width"]),
                              min(y + h, img["height"])])
        img["labels"].append(cat_to_label[a["category_id"]])
    samples = []
    for i, img in enumerate(images.values()):
        img["bboxes"] = np.asarray(img["bboxes"], np.float32).reshape(-1, 4)
        img["labels"] = np.asarray(img["labels"], np.int64)
        img["sample_idx"] = i
        samples.append(img)
    return samples, tuple(c.get("name", str(c["id"])) for c in cats)


@DATASETS.register_module()
class CocoIRDetection(BaseDataset):
    """COCO-style detection annotations over infrared (or RGB) images.

    ``data_root/ann_file`` is a COCO json (``images`` with ``file_name``, ``height``,
    ``width``; ``annotations`` with ``bbox`` [x, y, w, h] in pixels; ``categories``);
    ``file_name`` is relative to ``data_root/img_prefix``. Paired data sets keep one file
    per modality under the same name, so the RGB twin of a split is the same json with
    another ``img_prefix``. LLVIP: ``infrared/train`` and ``visible/train`` (boxes from
    ``Annotations/*.xml`` converted to one json per split); aligned FLIR: the thermal and RGB
    folders of ``FLIR_aligned``. Category ids become labels 1..K in sorted id order.

    Args:
        modality: ``'ir'`` loads one channel (3 equal channels are averaged), ``'rgb'`` three.
        box_tolerance: pixels a box may stick out of its image before it is an error.
    Errors name the file: a missing annotation file, an image referenced but absent, a box
    outside its image, an unknown category or image id.
    """

    def __init__(self, data_root: str, ann_file: str, img_prefix: str = "", modality: str = "ir",
                 box_tolerance: float = 1.0, pipeline: list | None = None, **kwargs):
        _check_modality(modality, "CocoIRDetection")
        self.img_prefix, self.modality, self.box_tolerance = img_prefix, modality, box_tolerance
        channels = 1 if modality == "ir" else 3
        kwargs.setdefault("serialize_data", False)
        super().__init__(data_root=data_root, ann_file=ann_file,
                         pipeline=pipeline or [dict(type="LoadDetImage", channels=channels),
                                               dict(type="PackDetInputs")], **kwargs)

    def load_data_list(self) -> list[dict]:
        samples, classes = parse_coco(self.ann_file, osp.join(self.data_root, self.img_prefix),
                                      self.box_tolerance)
        self._metainfo["classes"] = classes
        return samples


def write_scenes_coco(out_dir: str, split: str = "test", num_samples: int | None = None,
                      size: int = 128, seed: int = 0) -> str:
    """Write generated scenes in the LLVIP-like layout read by :class:`CocoIRDetection`:
    ``out_dir/infrared/<split>/*.png``, ``out_dir/visible/<split>/*.png`` and
    ``out_dir/annotations/<split>.json``. Returns the json path (written atomically)."""
    import skimage.io

    from zoo.fileio import atomic_write_bytes

    default_n, stream = SCENE_SPLITS[split]
    n = default_n if num_samples is None else num_samples
    images, annotations = [], []
    for modality_dir in ("infrared", "visible"):
        os.makedirs(osp.join(out_dir, modality_dir, split), exist_ok=True)
    for i in range(n):
        scene = make_scene((seed, stream, i), size)
        name = f"{i:06d}.png"
        skimage.io.imsave(osp.join(out_dir, "infrared", split, name), scene["ir"][..., 0],
                          check_contrast=False)
        skimage.io.imsave(osp.join(out_dir, "visible", split, name), scene["rgb"],
                          check_contrast=False)
        images.append(dict(id=i, file_name=name, height=size, width=size))
        for box, label in zip(scene["bboxes"], scene["labels"]):
            x1, y1, x2, y2 = (float(v) for v in box)
            annotations.append(dict(id=len(annotations) + 1, image_id=i, category_id=int(label),
                                    bbox=[x1, y1, x2 - x1, y2 - y1], area=(x2 - x1) * (y2 - y1),
                                    iscrowd=0))
    categories = [dict(id=i + 1, name=c) for i, c in enumerate(CLASSES)]
    path = osp.join(out_dir, "annotations", f"{split}.json")
    payload = json.dumps(dict(images=images, annotations=annotations, categories=categories))
    atomic_write_bytes(path, payload.encode("utf-8"))
    return path
