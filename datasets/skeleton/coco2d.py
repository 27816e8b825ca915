"""2-D COCO-17 keypoints from a pose estimator on one's own videos: reader, dataset and the
2-D normalisation transform.

Folder layout (one clip per file plus a labels table)::

    my_clips/
      labels.csv          # header: clip,label[,split][,width,height]
      jump_001.npy        # float [M, T, 17, 3] (x, y, score) in pixels, or [T, 17, 3]
      wave_007.json       # {"keypoints": [M][T][17][3], "img_shape": [height, width]}

* ``clip`` names the file without extension (``.npy`` is tried first, then ``.json``).
* ``label`` is an integer class id or a class name (names are mapped through ``classes``,
  or sorted alphabetically when ``classes`` is not given).
* ``split`` (optional) is ``train``, ``val`` or ``test``; without the column every clip is in
  every split.
* ``width``/``height`` (optional) give the image size in pixels for ``.npy`` clips; a json
  clip may carry ``img_shape`` instead. :class:`PreNormalize2D` uses it.
* Joints follow the COCO order (nose, eyes, ears, shoulders, elbows, wrists, hips, knees,
  ankles) — the zoo's ``coco17`` layout, as MMPose / HRNet / RTMPose / YOLO-pose output.
  A person missing in a frame is all zeros (score 0).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Iterable

import numpy as np

from zoo.registry import DATASETS, TRANSFORMS

from .base import SkeletonDataset, SkeletonFormatError


def _as_clip_array(arr, source) -> np.ndarray:
    try:
        arr = np.asarray(arr, dtype=np.float32)
    except (TypeError, ValueError):
        raise SkeletonFormatError(source, "keypoints are not a rectangular array of numbers") \
            from None
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[2:] != (17, 3):
        raise SkeletonFormatError(source, f"keypoints must be [M, T, 17, 3] or [T, 17, 3] "
                                          f"(x, y, score), got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise SkeletonFormatError(source, "has no frames")
    if not np.isfinite(arr).all():
        raise SkeletonFormatError(source, "keypoints hold NaN/inf values")
    return arr


def read_coco2d_clip(path: str | Path) -> dict:
    """Read one ``.npy`` or ``.json`` clip: ``keypoint`` ``[M, T, 17, 2]``,
    ``keypoint_score`` ``[M, T, 17]``, ``total_frames`` and ``img_shape`` when stored."""
    path = Path(path)
    img_shape = None
    if path.suffix == ".npy":
        try:
            raw = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise SkeletonFormatError(path, f"is not a plain numpy array file ({exc})") from None
    elif path.suffix == ".json":
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise SkeletonFormatError(path, f"is not valid json ({exc})") from None
        if not isinstance(data, dict) or "keypoints" not in data:
            raise SkeletonFormatError(path, "has no 'keypoints' key")
        raw = data["keypoints"]
        if data.get("img_shape") is not None:
            img_shape = tuple(int(v) for v in data["img_shape"])
    else:
        raise SkeletonFormatError(path, "is neither .npy nor .json")
    arr = _as_clip_array(raw, path)
    out = dict(keypoint=np.ascontiguousarray(arr[..., :2]),
               keypoint_score=np.ascontiguousarray(arr[..., 2]), total_frames=arr.shape[1])
    if img_shape is not None:
        out["img_shape"] = img_shape
    return out


def read_labels_csv(path: str | Path) -> list[dict]:
    """Rows of ``labels.csv`` as dicts (``clip`` and ``label`` required)."""
    path = Path(path)
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        missing = [k for k in ("clip", "label") if k not in fields]
        if missing:
            raise SkeletonFormatError(path, f"lacks column(s) {missing} (header: {fields})")
        rows = [dict(r, _line=i + 2) for i, r in enumerate(reader)]
    if not rows:
        raise SkeletonFormatError(path, "lists no clips")
    return rows


@DATASETS.register_module()
class COCO2DClips(SkeletonDataset):
    """Clips of 2-D COCO-17 keypoints with scores (see the module docstring for the layout).

    Args:
        data_root: the folder.
        split: ``train``/``val``/``test`` (rows of the ``split`` column) or ``all``.
        labels_file: the csv, relative to ``data_root``.
        classes: class names; integer labels index them, name labels are looked up.
    """

    METAINFO = dict(classes=(), layout="coco17")

    def __init__(self, data_root: str, split: str = "train", labels_file: str = "labels.csv",
                 classes: Iterable[str] | None = None, **kwargs):
        self.labels_file = labels_file
        self.rows = read_labels_csv(Path(data_root) / labels_file)
        names = [r["label"] for r in self.rows]
        if classes is None:
            if all(n.strip().lstrip("-").isdigit() for n in names):
                classes = tuple(f"class_{i}" for i in range(max(int(n) for n in names) + 1))
            else:
                classes = tuple(sorted(set(n.strip() for n in names)))
        self.class_names = tuple(classes)
        kwargs.setdefault("metainfo", dict(classes=self.class_names))
        super().__init__(split=split, data_root=data_root, **kwargs)

    def _label(self, row: dict, csv_path: Path) -> int:
        value = row["label"].strip()
        if value.lstrip("-").isdigit():
            label = int(value)
            if not 0 <= label < len(self.class_names):
                raise SkeletonFormatError(csv_path, f"line {row['_line']}: label {label} is "
                                                    f"outside 0..{len(self.class_names) - 1}")
            return label
        if value not in self.class_names:
            raise SkeletonFormatError(csv_path, f"line {row['_line']}: unknown class "
                                                f"{value!r}")
        return self.class_names.index(value)

    def load_samples(self) -> list[dict]:
        root = Path(self.data_root)
        csv_path = root / self.labels_file
        samples = []
        for row in self.rows:
            split = (row.get("split") or "").strip()
            if self.split != "all" and split and split != self.split:
                continue
            clip = row["clip"].strip()
            path = root / f"{clip}.npy"
            if not path.exists():
                path = root / f"{clip}.json"
            if not path.exists():
                raise SkeletonFormatError(csv_path, f"line {row['_line']}: no {clip}.npy or "
                                                    f"{clip}.json in {root}")
            sample = read_coco2d_clip(path)
            if row.get("width") and row.get("height"):
                sample["img_shape"] = (int(row["height"]), int(row["width"]))
            sample.update(frame_dir=clip, label=self._label(row, csv_path))
            samples.append(sample)
        if not samples:
            raise SkeletonFormatError(csv_path, f"has no clip in split {self.split!r}")
        return samples


@TRANSFORMS.register_module()
class PreNormalize2D:
    """Centre and scale 2-D pixel keypoints by the image size (PYSKL's ``PreNormalize2D``):
    ``x' = (x - w/2) / (w/2)``, ``y' = (y - h/2) / (h/2)``, so the frame spans [-1, 1].

    The size comes from the sample's ``img_shape`` ``(h, w)``, else from ``img_shape`` given
    here. Keypoints whose score is 0 (missing) stay at 0.
    """

    def __init__(self, img_shape: tuple[int, int] | None = (1080, 1920)):
        self.img_shape = tuple(img_shape) if img_shape is not None else None

    def __call__(self, results: dict) -> dict:
        shape = results.get("img_shape", self.img_shape)
        if shape is None:
            raise ValueError(f"{results.get('frame_dir', 'sample')}: PreNormalize2D needs "
                             f"img_shape (h, w) in the sample or the transform")
        h, w = float(shape[0]), float(shape[1])
        kp = results["keypoint"].astype(np.float32)
        if kp.shape[-1] < 2:
            raise ValueError(f"PreNormalize2D needs x, y keypoints, got C={kp.shape[-1]}")
        centre = np.array([w / 2, h / 2], dtype=np.float32)
        out = kp.copy()
        out[..., :2] = (kp[..., :2] - centre) / centre
        if "keypoint_score" in results:
            out[..., :2] *= (results["keypoint_score"] > 0)[..., None]
        results["keypoint"] = out
        return results
