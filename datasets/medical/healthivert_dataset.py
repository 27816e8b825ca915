"""Sagittal training/evaluation samples for HealthiVert-GAN (Zhang et al., JBHI 2025).

Input preparation follows the official data loader: on a sagittal crop (rows superior ->
inferior) the target vertebra's rows ``x1..x2`` are cut out and replaced by a fixed-height band
(the "40 mm mask" of the paper, ``band`` pixels here) centred on the vertebra; the tissue
above and below is shifted so that the neighbours touch the band. The generator sees the
band image, the band mask, ``1 - heat map`` and the slice position; the real crop, the real
target mask and the neighbours' mask (shifted like the input) are the targets. Each sample
also carries the neighbours' mean height on the whole slice (``neighbour_height``, rows), the
input of the generator's optional height prior.

As in the paper's pre-processing, the spine can first be straightened (``straighten=True``,
``spine_straighten``): the volumes are resampled along the centre line fitted to the label
map, so a vertebra's rows span its height along its own axis, not along the image axis of a
curved spine (cached in ``<case>/straightened/``).
"""
from __future__ import annotations

import numpy as np
import torch
from mmengine.dataset import BaseDataset

from zoo.registry import DATASETS

from .spine_io import SpineDataError, load_spine_volume, sagittal, vertebra_crop
from .spine_phantom import SECTIONS, phantom_cases
from .spine_straighten import ensure_straightened


def band_bounds(x1: int, x2: int, band: int, size: int) -> tuple[int, int]:
    """Rows [min_x, max_x) of the fixed-height band centred on rows x1..x2 (inclusive)."""
    centre = (x1 + x2 + 1) // 2
    lo = min(max(centre - band // 2, 0), size - band)
    return lo, lo + band


def _shift_into(out: np.ndarray, src: np.ndarray, x1: int, x2: int, lo: int, hi: int):
    """Rows above the band come from just above x1, rows below from just below x2."""
    size = src.shape[0]
    top = src[max(x1 - lo, 0):x1]
    out[lo - top.shape[0]:lo] = top
    bottom = src[x2 + 1:min(x2 + 1 + size - hi, size)]
    out[hi:hi + bottom.shape[0]] = bottom
    return out


def make_inpainting_input(image: np.ndarray, label: np.ndarray, target: int,
                          healthy_labels: list[int], band: int,
                          heat: np.ndarray | None = None) -> dict:
    """Build the generator's inputs and targets from one sagittal crop (see module doc)."""
    target_mask = label == target
    rows = np.flatnonzero(target_mask.any(axis=1))
    if rows.size == 0:
        raise SpineDataError(f"vertebra {target} is absent from the crop")
    x1, x2 = int(rows.min()), int(rows.max())
    if x2 - x1 + 1 > band:
        raise SpineDataError(f"vertebra {target} is {x2 - x1 + 1} px tall, more than the "
                             f"{band}-px band")
    size = image.shape[0]
    lo, hi = band_bounds(x1, x2, band, size)
    masked = _shift_into(np.full_like(image, -1.0), image, x1, x2, lo, hi)
    neighbours = _shift_into(np.zeros(image.shape, np.float32),
                             np.isin(label, healthy_labels).astype(np.float32), x1, x2, lo, hi)
    heat_in = np.zeros(image.shape, np.float32)
    if heat is not None:
        heat_in = _shift_into(heat_in, heat.astype(np.float32), x1, x2, lo, hi)
    band_mask = np.zeros(image.shape, np.float32)
    band_mask[lo:hi] = 1.0
    return dict(masked=masked[None], mask=band_mask[None], attention=(1.0 - heat_in)[None],
                real=image[None].astype(np.float32),
                real_mask=target_mask[None].astype(np.float32), neighbours=neighbours[None],
                x1=x1, x2=x2, height=x2 - x1 + 1)


def neighbour_height(label_slice: np.ndarray, neighbours: list[int]) -> float:
    """Mean height in rows of the ``neighbours`` present on a whole sagittal label slice
    (rows superior -> inferior); 0 when none of them is on the slice. The generator's
    optional height prior (``HealthiVertGAN(neighbour_height=True)``): the segmentation of the
    adjacent vertebrae is an input of the method anyway, and unlike the crop it is not cut."""
    heights = []
    for n in neighbours:
        rows = np.flatnonzero((label_slice == n).any(axis=1))
        if rows.size:
            heights.append(rows.max() - rows.min() + 1)
    return float(np.mean(heights)) if heights else 0.0


@DATASETS.register_module()
class HealthiVertPhantomDataset(BaseDataset):
    """Sagittal HealthiVert-GAN samples cut from spine phantoms (or any folder of cases).

    Args:
        data_root: folder of ``case_0000``-style folders (``ct.nii.gz``, ``label.nii.gz``,
            optional ``healthy_label.nii.gz`` / ``heatmap.nii.gz``, ``meta.json``).
        num_cases: phantoms to generate there if missing (0: use what exists).
        fractured: generate fractured phantoms (grades cycling 0..3) or healthy spines.
        targets: ``'all'`` (every vertebra with two healthy neighbours; for training on
            healthy spines) or ``'target'`` (the case's designated target vertebra).
        crop_size, band: crop side and band height in pixels.
        slice_divisor: sagittal slices within centre ± LR extent / divisor are used.
        seed: phantom seed.
        curved: generate curved phantoms with varied vertebra shapes (``spine_phantom``).
        straighten: straighten every case along the centre line of its ``label.nii.gz``
            before cutting slices (``spine_straighten``).
    """

    def __init__(self, data_root: str, num_cases: int = 0, fractured: bool = False,
                 targets: str = "all", crop_size: int = 64, band: int = 24,
                 slice_divisor: float = 5.0, seed: int = 0, curved: bool = False,
                 straighten: bool = False, **kwargs):
        if targets not in ("all", "target"):
            raise ValueError(f"HealthiVertPhantomDataset: targets must be 'all' or 'target', "
                             f"got {targets!r}")
        self.num_cases, self.fractured, self.targets = num_cases, fractured, targets
        self.crop_size, self.band, self.slice_divisor, self.seed = (crop_size, band,
                                                                    slice_divisor, seed)
        self.curved, self.straighten = curved, straighten
        kwargs.setdefault("serialize_data", False)
        super().__init__(data_root=data_root, pipeline=[], **kwargs)

    def load_data_list(self) -> list[dict]:
        import json

        cases = phantom_cases(self.data_root, self.num_cases, self.seed, self.fractured,
                              curved=self.curved)
        samples = []
        for case_id, case in enumerate(cases):
            meta = json.loads((case / "meta.json").read_text())
            src = ensure_straightened(case) if self.straighten else case
            vol = load_spine_volume(src / "label.nii.gz", src / "ct.nii.gz")
            healthy_path = src / "healthy_label.nii.gz"
            healthy = load_spine_volume(healthy_path).label if healthy_path.is_file() \
                else vol.label
            heat = None
            if (src / "heatmap.nii.gz").is_file():
                # read as an image: the label reader would round the heat map to 0 / 1
                heat = load_spine_volume(src / "label.nii.gz", src / "heatmap.nii.gz",
                                         window=None).image
            verts = {v["label"]: v for v in meta["vertebrae"]}
            order = [v["label"] for v in meta["vertebrae"]]
            chosen = order[1:-1] if self.targets == "all" else [meta["target_label"]]
            for target in chosen:
                info = verts[target]
                k = order.index(target)
                nbrs = [order[k - 1], order[k + 1]]
                if any(verts[n]["grade"] > 0 for n in nbrs) or (self.targets == "all"
                                                                 and info["grade"] > 0):
                    continue
                mask3d = vol.require_label(target)
                xs = np.flatnonzero(mask3d.any(axis=(1, 2)))
                centre = int(round(xs.mean()))
                half = int((xs.max() - xs.min()) // self.slice_divisor)
                healthy_labels = [v for v in order if verts[v]["grade"] == 0 and v != target]
                for x in range(centre - half, centre + half + 1):
                    size = (self.crop_size, self.crop_size)
                    img, lab, c = vertebra_crop(vol.image, vol.label, target, x, size)
                    _, hlab, _ = vertebra_crop(None, healthy, target, x, size, centre=c)
                    hcrop = None if heat is None else vertebra_crop(None, heat, target, x, size,
                                                                    centre=c)[1]
                    sample = make_inpainting_input(img, lab, target, healthy_labels,
                                                   self.band, hcrop)
                    sample.update(
                        neighbour_height=neighbour_height(sagittal(vol.label, x), nbrs),
                        slice_ratio=abs(x - centre) / (xs.max() - xs.min() + 1) * 2,
                        healthy_mask=(hlab == target)[None].astype(np.float32),
                        row_spacing=float(vol.spacing[2]), case_id=case_id, label=target,
                        slice_index=x, fractured=bool(info["grade"] > 0),
                        true_loss=np.array([info["section_loss"][s] for s in SECTIONS],
                                           np.float32),
                        healthy_height_mm=float(info["healthy_height_mm"]),
                        grade=int(info["grade"]))
                    samples.append(sample)
        return samples

    def prepare_data(self, idx: int) -> dict:
        s = self.get_data_info(idx)
        keys = ("masked", "mask", "attention", "real", "real_mask", "neighbours")
        inputs = {k: torch.from_numpy(np.ascontiguousarray(s[k])) for k in keys}
        for k in ("x1", "x2", "height"):
            inputs[k] = torch.tensor(s[k], dtype=torch.long)
        for k in ("slice_ratio", "neighbour_height"):
            inputs[k] = torch.tensor(s[k], dtype=torch.float32)
        meta = dict(healthy_mask=torch.from_numpy(s["healthy_mask"]),
                    true_loss=torch.from_numpy(s["true_loss"]))
        for k in ("row_spacing", "healthy_height_mm"):
            meta[k] = torch.tensor(s[k], dtype=torch.float32)
        for k in ("case_id", "label", "slice_index", "grade"):
            meta[k] = torch.tensor(s[k], dtype=torch.long)
        meta["fractured"] = torch.tensor(s["fractured"])
        return dict(inputs=inputs, data_samples=meta)
