"""Forget requests: which training samples a model must forget.

A request names whole classes (index or class name), sample ids, or both. The id of a
training sample is its ``frame_dir`` when the dataset has one (skeleton datasets, e.g.
``a03_s01_e02_skeleton3D``) and otherwise its position in the training split (``"0"`` ..
``"N-1"``). A sequence of requests is applied one after another (continual forgetting):
request ``k`` forgets its own samples while everything not yet forgotten is retained.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np


class ForgetRequestError(ValueError):
    """A forget request names a class or sample that does not exist, or selects nothing."""


@dataclass(frozen=True)
class ForgetRequest:
    """One forget request: whole ``classes``, single sample ``ids`` and/or ``subclasses``
    (original classes of a super-class data set, see ``SuperclassDataset``: their samples
    are forgotten while the model's class, the super-class, is kept)."""

    classes: tuple = ()
    ids: tuple = ()
    name: str = ""
    subclasses: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "classes", tuple(self.classes))
        object.__setattr__(self, "ids", tuple(str(i) for i in self.ids))
        object.__setattr__(self, "subclasses", tuple(self.subclasses))
        if not self.classes and not self.ids and not self.subclasses:
            raise ForgetRequestError(
                "a forget request needs classes or sample ids (or sub-classes)")

    def describe(self) -> str:
        if self.name:
            return self.name
        parts = []
        if self.classes:
            parts.append("classes " + ",".join(str(c) for c in self.classes))
        if self.subclasses:
            parts.append("sub-classes " + ",".join(str(c) for c in self.subclasses))
        if self.ids:
            parts.append(f"{len(self.ids)} sample ids")
        return " + ".join(parts)

    def to_dict(self) -> dict:
        out = dict(classes=list(self.classes), ids=list(self.ids), name=self.name)
        if self.subclasses:
            out["subclasses"] = list(self.subclasses)
        return out


def read_id_file(path: str | Path) -> list[str]:
    """Sample ids from a file: a JSON list, or one id per line (``#`` starts a comment)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"forget-id file {path} does not exist")
    text = path.read_text()
    if text.lstrip().startswith("["):
        try:
            ids = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ForgetRequestError(f"{path}: not valid JSON ({exc})") from exc
        if not isinstance(ids, list):
            raise ForgetRequestError(f"{path}: expected a JSON list of ids")
        ids = [str(i) for i in ids]
    else:
        ids = [line.split("#", 1)[0].strip() for line in text.splitlines()]
        ids = [i for i in ids if i]
    if not ids:
        raise ForgetRequestError(f"{path}: holds no sample ids")
    return ids


def read_request_file(path: str | Path) -> list[ForgetRequest]:
    """A sequence of requests from JSON: ``[{"classes": [3]}, {"ids": ["12", "40"]}, ...]``.

    An entry may also give ``"id_file"`` (relative to the JSON file) instead of ``"ids"``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"request file {path} does not exist")
    try:
        entries = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ForgetRequestError(f"{path}: not valid JSON ({exc})") from exc
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list) or not entries:
        raise ForgetRequestError(f"{path}: expected a non-empty JSON list of requests")
    requests = []
    for k, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ForgetRequestError(f"{path}: request {k} is not an object")
        unknown = set(entry) - {"classes", "ids", "id_file", "name", "subclasses"}
        if unknown:
            raise ForgetRequestError(f"{path}: request {k} has unknown keys {sorted(unknown)}")
        ids = list(entry.get("ids", []))
        if "id_file" in entry:
            ids += read_id_file(path.parent / entry["id_file"])
        try:
            requests.append(ForgetRequest(entry.get("classes", []), ids, entry.get("name", ""),
                                          entry.get("subclasses", [])))
        except ForgetRequestError as exc:
            raise ForgetRequestError(f"{path}: request {k}: {exc}") from exc
    return requests


@dataclass
class TrainIndex:
    """Labels, ids and class names of a training split, used to resolve requests."""

    labels: np.ndarray
    ids: list[str]
    classes: Sequence[str] = field(default_factory=tuple)
    num_classes: int = 0
    source: str = "training split"
    #: original classes of a super-class data set (``None``: the data set has none)
    fine_labels: np.ndarray | None = None
    fine_classes: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self):
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if self.fine_labels is not None:
            self.fine_labels = np.asarray(self.fine_labels, dtype=np.int64)
        if len(self.labels) != len(self.ids):
            raise ValueError("labels and ids differ in length")
        if len(set(self.ids)) != len(self.ids):
            raise ValueError(f"{self.source}: sample ids are not unique")
        self.num_classes = self.num_classes or int(self.labels.max()) + 1
        self._position = {i: k for k, i in enumerate(self.ids)}

    def class_index(self, cls) -> int:
        """A class given as index (int or digit string) or as class name."""
        if isinstance(cls, (int, np.integer)) or (isinstance(cls, str) and cls.isdigit()):
            c = int(cls)
            if not 0 <= c < self.num_classes:
                raise ForgetRequestError(
                    f"forget class {c} does not exist in {self.source}: valid classes are "
                    f"0..{self.num_classes - 1}")
            return c
        if cls in list(self.classes):
            return list(self.classes).index(cls)
        raise ForgetRequestError(
            f"forget class {cls!r} does not exist in {self.source} (classes: "
            f"{', '.join(map(str, self.classes)) or '0..' + str(self.num_classes - 1)})")

    def subclass_index(self, cls) -> int:
        """A sub-class (original class of a super-class data set) by index or name."""
        if self.fine_labels is None:
            raise ForgetRequestError(
                f"{self.source} has no sub-classes (no 'fine_label'; wrap the data set in "
                "SuperclassDataset to forget a sub-class)")
        n = len(self.fine_classes) or int(self.fine_labels.max()) + 1
        if isinstance(cls, (int, np.integer)) or (isinstance(cls, str) and cls.isdigit()):
            if not 0 <= int(cls) < n:
                raise ForgetRequestError(f"forget sub-class {cls} does not exist in "
                                         f"{self.source}: valid sub-classes are 0..{n - 1}")
            return int(cls)
        if cls in list(self.fine_classes):
            return list(self.fine_classes).index(cls)
        raise ForgetRequestError(f"forget sub-class {cls!r} does not exist in {self.source} "
                                 f"(sub-classes: {', '.join(map(str, self.fine_classes))})")

    def resolve_subclasses(self, request: ForgetRequest) -> set[int]:
        return {self.subclass_index(c) for c in request.subclasses}

    def resolve(self, request: ForgetRequest) -> tuple[np.ndarray, set[int]]:
        """Positions of the samples a request selects, and its forgotten classes."""
        classes = {self.class_index(c) for c in request.classes}
        mask = np.isin(self.labels, sorted(classes)) if classes else \
            np.zeros(len(self.labels), bool)
        missing = [i for i in request.ids if i not in self._position]
        if missing:
            raise ForgetRequestError(
                f"{len(missing)} forget id(s) do not exist in {self.source}: "
                f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''} (ids are "
                f"{'frame_dir names' if not self.ids[0].isdigit() else 'positions 0..'}"
                f"{'' if not self.ids[0].isdigit() else len(self.ids) - 1})")
        mask[[self._position[i] for i in request.ids]] = True
        if request.subclasses:
            mask |= np.isin(self.fine_labels, sorted(self.resolve_subclasses(request)))
        if not mask.any():
            raise ForgetRequestError(f"request {request.describe()!r} selects no sample")
        return np.flatnonzero(mask), classes


def random_request(index: TrainIndex, fraction: float, seed: int = 0) -> ForgetRequest:
    """Forget a seeded random ``fraction`` of the training samples (by id)."""
    if not 0 < fraction < 1:
        raise ForgetRequestError(f"random forget fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    n = max(1, int(round(fraction * len(index.ids))))
    pick = np.sort(rng.choice(len(index.ids), n, replace=False))
    return ForgetRequest(ids=[index.ids[i] for i in pick],
                         name=f"random {fraction:.0%} of samples (seed {seed})")
