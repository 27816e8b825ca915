"""PYSKL / MMAction2 skeleton annotation pickles: safe reader, atomic writer, dataset.

The format (PYSKL ``tools/data/README.md``; MMAction2 ``PoseDataset``): one pickle holding ::

    {'split': {'xsub_train': [frame_dir, ...], 'xsub_val': [...], ...},
     'annotations': [{'frame_dir': str, 'label': int, 'total_frames': int,
                      'keypoint': float [M, T, V, C],
                      'keypoint_score': float [M, T, V]   # 2-D files only
                      'img_shape': (h, w), 'original_shape': (h, w)  # 2-D files
                      }, ...]}

A pickle can run arbitrary code when loaded, so :func:`load_pyskl` unpickles with an
allow-list: only builtin containers and numpy array / dtype / scalar reconstruction.
"""
from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from zoo.registry import DATASETS

from .base import SkeletonDataset, SkeletonFormatError

# (module, name) pairs numpy needs to rebuild arrays, dtypes and scalars (numpy 1.x and 2.x
# module paths, pickle protocols 2-5).
_NUMPY_GLOBALS = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
}

REQUIRED_KEYS = ("frame_dir", "label", "keypoint")


def _latin1_encode(text: str, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it for bytes, limited to latin-1."""
    if encoding.lower().replace("_", "-") not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r} is not allowed")
    return text.encode("latin-1", errors)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds dicts, lists, tuples, strings, numbers and numpy arrays only."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY_GLOBALS:
            import importlib

            return getattr(importlib.import_module(module), name)
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        raise pickle.UnpicklingError(
            f"global '{module}.{name}' is not allowed (a PYSKL pickle holds only dicts, "
            f"lists and numpy arrays)")


def safe_load_pickle(path: str | Path) -> Any:
    """Unpickle ``path`` allowing only containers and numpy arrays; a clear error otherwise."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return _NumpyOnlyUnpickler(f).load()
    except FileNotFoundError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            ImportError, IndexError) as exc:
        raise SkeletonFormatError(path, f"cannot be read as a safe PYSKL pickle: {exc}") from None


def check_annotation(ann: Any, source: Any, index: int) -> dict:
    """Validate one annotation dict (keys, shapes) and return it with float32 arrays."""
    where = f"annotations[{index}]"
    if not isinstance(ann, dict):
        raise SkeletonFormatError(source, f"{where} is a {type(ann).__name__}, not a dict")
    missing = [k for k in REQUIRED_KEYS if k not in ann]
    if missing:
        raise SkeletonFormatError(source, f"{where} ({ann.get('frame_dir', '?')}) lacks "
                                          f"key(s) {missing}")
    name = ann["frame_dir"]
    kp = np.asarray(ann["keypoint"])
    if kp.ndim != 4:
        raise SkeletonFormatError(source, f"{where} ({name}): keypoint must be [M, T, V, C], "
                                          f"got shape {kp.shape}")
    out = dict(ann)
    out["keypoint"] = kp.astype(np.float32)
    if "keypoint_score" in ann:
        score = np.asarray(ann["keypoint_score"])
        if score.shape != kp.shape[:3]:
            raise SkeletonFormatError(source, f"{where} ({name}): keypoint_score shape "
                                              f"{score.shape} != keypoint [M, T, V] "
                                              f"{kp.shape[:3]}")
        out["keypoint_score"] = score.astype(np.float32)
    try:
        out["label"] = int(ann["label"])
    except (TypeError, ValueError):
        raise SkeletonFormatError(source, f"{where} ({name}): label {ann['label']!r} is not an "
                                          f"integer") from None
    total = int(ann.get("total_frames", kp.shape[1]))
    if total != kp.shape[1]:
        raise SkeletonFormatError(source, f"{where} ({name}): total_frames {total} != "
                                          f"{kp.shape[1]} frames in keypoint")
    out["total_frames"] = total
    return out


def check_pyskl(data: Any, source: Any = "<pyskl>") -> dict:
    """Validate a PYSKL dict (``split`` + ``annotations``) and return it normalised."""
    if not isinstance(data, dict) or "annotations" not in data:
        raise SkeletonFormatError(source, "is not a PYSKL annotation dict (needs 'annotations'"
                                          " and 'split')")
    anns = data["annotations"]
    if not isinstance(anns, (list, tuple)):
        raise SkeletonFormatError(source, "'annotations' must be a list of dicts")
    anns = [check_annotation(a, source, i) for i, a in enumerate(anns)]
    names = [a["frame_dir"] for a in anns]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise SkeletonFormatError(source, f"frame_dir {dup!r} appears more than once")
    split = data.get("split", {})
    if not isinstance(split, dict):
        raise SkeletonFormatError(source, "'split' must be a dict of name -> list of frame_dir")
    known = set(names)
    for key, members in split.items():
        unknown = [m for m in members if m not in known]
        if unknown:
            raise SkeletonFormatError(source, f"split {key!r} names {len(unknown)} unknown "
                                              f"frame_dir(s), e.g. {unknown[0]!r}")
    return dict(split={k: list(v) for k, v in split.items()}, annotations=anns)


def load_pyskl(path: str | Path) -> dict:
    """Read and validate a PYSKL pickle (safe unpickling)."""
    return check_pyskl(safe_load_pickle(path), Path(path))


def dump_pyskl(path: str | Path, annotations: Iterable[dict],
               split: dict[str, Iterable[str]]) -> Path:
    """Write a PYSKL pickle atomically (temporary sibling + ``os.replace``).

    ``annotations`` are sample dicts (``frame_dir``, ``label``, ``keypoint`` [M, T, V, C],
    optional ``keypoint_score``, ``total_frames``; other keys are kept). Arrays are stored as
    float32 numpy arrays, the pickle uses protocol 4.
    """
    from zoo.fileio import atomic_write_bytes

    data = check_pyskl(dict(split={k: list(v) for k, v in split.items()},
                            annotations=list(annotations)), Path(path))
    for ann in data["annotations"]:
        for key, value in list(ann.items()):
            if hasattr(value, "detach"):  # torch tensors -> numpy
                ann[key] = value.detach().cpu().numpy()
            elif isinstance(value, np.generic):
                ann[key] = value.item()
    buf = io.BytesIO()
    pickle.dump(data, buf, protocol=4)
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)


LAYOUT_OF_JOINTS = {25: "ntu25", 20: "kinect20", 17: "coco17", 18: "openpose18", 33: "mediapipe33",
                    26: "halpe26", 21: "hand21"}


@DATASETS.register_module()
class PoseDataset(SkeletonDataset):
    """Samples of a PYSKL / MMAction2 skeleton pickle (``PoseDataset`` of PYSKL).

    Args:
        ann_file: the pickle.
        split: a key of its ``split`` dict (e.g. ``'xsub_train'``); ``None`` takes all.
        layout: joint layout; default inferred from V (25 ntu25, 20 kinect20, 17 coco17,
            18 openpose18, 33 mediapipe33, 26 halpe26, 21 hand21).
        classes: class names (the pickle stores only integer labels).
    """

    def __init__(self, ann_file: str, split: str | None = None, layout: str | None = None,
                 classes: Iterable[str] | None = None, pipeline: list | None = None, **kwargs):
        data_root = kwargs.get("data_root")
        path = Path(ann_file)
        if data_root and not path.is_absolute():
            path = Path(data_root) / path
        self._data = load_pyskl(path)
        anns = self._data["annotations"]
        if layout is None:
            v = anns[0]["keypoint"].shape[2] if anns else 25
            if v not in LAYOUT_OF_JOINTS:
                raise SkeletonFormatError(ann_file, f"{v} joints per body: pass layout=")
            layout = LAYOUT_OF_JOINTS[v]
        if classes is None:
            num = max((a["label"] for a in anns), default=-1) + 1
            classes = tuple(f"class_{i}" for i in range(num))
        metainfo = dict(kwargs.pop("metainfo", None) or {})
        metainfo.setdefault("classes", tuple(classes))
        metainfo.setdefault("layout", layout)
        super().__init__(split=split, ann_file=ann_file, pipeline=pipeline, metainfo=metainfo,
                         **kwargs)

    def load_samples(self) -> list[dict]:
        anns = self._data["annotations"]
        if self.split is None:
            return [dict(a) for a in anns]
        if self.split not in self._data["split"]:
            raise KeyError(f"{self.ann_file}: no split {self.split!r}; it has "
                           f"{sorted(self._data['split'])}")
        by_name = {a["frame_dir"]: a for a in anns}
        return [dict(by_name[n]) for n in self._data["split"][self.split]]
