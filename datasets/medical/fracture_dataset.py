"""Sagittal vertebra crops labelled healthy / fractured: training data of the fracture
classifier whose Grad-CAM++ maps are HealthiVert-GAN's heat-map input (Zhang et al., JBHI
2025; the official classifier is trained on straightened sagittal slices, binary classes)."""
from __future__ import annotations

import json

import numpy as np
import torch
from mmengine.dataset import BaseDataset

from zoo.registry import DATASETS

from .spine_io import SpineVolume, load_spine_volume, vertebra_crop
from .spine_phantom import phantom_cases
from .spine_straighten import ensure_straightened


def central_slices(mask3d: np.ndarray, slice_divisor: float) -> list[int]:
    """Sagittal indices within the vertebra's LR centre ± LR extent / ``slice_divisor`` (the
    slices HealthiVert-GAN's RHLV uses)."""
    xs = np.flatnonzero(mask3d.any(axis=(1, 2)))
    if xs.size == 0:
        return []
    centre = int(round(xs.mean()))
    half = int((xs.max() - xs.min()) // slice_divisor)
    return [x for x in range(centre - half, centre + half + 1) if 0 <= x < mask3d.shape[0]]


def iter_vertebra_crops(vol: SpineVolume, labels: list[int], crop_size: int,
                        slice_divisor: float):
    """Yield ``(label, x, image crop, label crop, centre)`` for each vertebra and central
    sagittal slice where it is present."""
    size = (crop_size, crop_size)
    for lab in labels:
        for x in central_slices(vol.label == lab, slice_divisor):
            if not (vol.label[x] == lab).any():
                continue
            img, lcrop, centre = vertebra_crop(vol.image, vol.label, lab, x, size)
            yield lab, x, img, lcrop, centre


@DATASETS.register_module()
class VertebraFractureDataset(BaseDataset):
    """One sample per (vertebra, central sagittal slice) of a folder of spine cases.

    ``inputs`` = the ``crop_size`` crop centred on the vertebra ([1, H, W], CT windowed to
    [-1, 1]); ``data_samples`` = dict(``label`` 1 if the vertebra's Genant grade >= ``min_grade``
    else 0, ``grade``, ``case_id``, ``vertebra``).

    Args:
        data_root: folder of ``case_*`` folders (``ct.nii.gz``, ``label.nii.gz``, ``meta.json``).
        num_cases: fractured phantoms to generate there if missing (0: use what exists).
        seed: phantom seed.
        crop_size: crop side in pixels.
        slice_divisor: slices within centre ± LR extent / divisor.
        min_grade: smallest Genant grade counted as fractured.
        flip_prob: probability of a random posterior/anterior flip (training augmentation).
        curved: generate curved phantoms (``spine_phantom``).
        straighten: cut the crops from the straightened case (``spine_straighten``), as the
            official classifier sees straightened slices.
    """

    def __init__(self, data_root: str, num_cases: int = 0, seed: int = 0, crop_size: int = 64,
                 slice_divisor: float = 5.0, min_grade: int = 1, flip_prob: float = 0.0,
                 curved: bool = False, straighten: bool = False, **kwargs):
        self.curved, self.straighten = curved, straighten
        self.num_cases, self.seed, self.crop_size = num_cases, seed, crop_size
        self.slice_divisor, self.min_grade, self.flip_prob = slice_divisor, min_grade, flip_prob
        self._rng = np.random.default_rng(seed)
        kwargs.setdefault("serialize_data", False)
        super().__init__(data_root=data_root, pipeline=[], **kwargs)

    def load_data_list(self) -> list[dict]:
        cases = phantom_cases(self.data_root, self.num_cases, self.seed, fractured=True,
                              curved=self.curved)
        samples = []
        for case_id, case in enumerate(cases):
            meta = json.loads((case / "meta.json").read_text())
            grades = {v["label"]: int(v["grade"]) for v in meta["vertebrae"]}
            src = ensure_straightened(case) if self.straighten else case
            vol = load_spine_volume(src / "label.nii.gz", src / "ct.nii.gz")
            for lab, _, img, _, _ in iter_vertebra_crops(vol, list(grades), self.crop_size,
                                                         self.slice_divisor):
                samples.append(dict(image=img[None].astype(np.float32),
                                    label=int(grades[lab] >= self.min_grade),
                                    grade=grades[lab], case_id=case_id, vertebra=lab))
        return samples

    def class_counts(self) -> list[int]:
        """Samples per class (0 healthy, 1 fractured)."""
        labels = [self.get_data_info(i)["label"] for i in range(len(self))]
        return np.bincount(labels, minlength=2).tolist()

    def prepare_data(self, idx: int) -> dict:
        s = self.get_data_info(idx)
        img = s["image"]
        if self.flip_prob and self._rng.random() < self.flip_prob:
            img = img[..., ::-1]
        meta = {k: torch.tensor(s[k], dtype=torch.long)
                for k in ("label", "grade", "case_id", "vertebra")}
        return dict(inputs=torch.from_numpy(np.ascontiguousarray(img)), data_samples=meta)
