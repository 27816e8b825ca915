"""Per-case Grad-CAM++ heat maps of a vertebra fracture classifier (HealthiVert-GAN's HGAM).

HealthiVert-GAN (Zhang et al., JBHI 2025) feeds its generator ``1 - heat map``, where the heat
map is the Grad-CAM++ map (Chattopadhyay et al., WACV 2018) of the "fractured" class of a
binary classifier of sagittal slices centred on a vertebra, normalised to [0, 1] per slice
(official ``Attention/grad_CAM_3d_sagittal.py``). Here every vertebra of a case is classified
on the 64 x 64 crops centred on it (the crops HealthiVert-GAN cuts), and its map is pasted
into the rows of the sagittal slice nearer to it than to any other vertebra, so that one
``heatmap.nii.gz`` (the CT's grid and affine) holds, around each vertebra, the map computed
for that vertebra. With ``straighten=True`` the maps are computed on, and written into, the
straightened copy of the case (``<case>/straightened``, ``spine_straighten``), which is where
``HealthiVertPhantomDataset(straighten=True)`` reads them.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from zoo.analysis.grad_cam import GradCAMPlusPlus


def _case_labels(case: Path, vol_label: np.ndarray) -> list[int]:
    meta_path = case / "meta.json"
    if meta_path.is_file():
        return [int(v["label"]) for v in json.loads(meta_path.read_text())["vertebrae"]]
    return [int(v) for v in np.unique(vol_label) if v != 0]


def case_heatmap(cam: GradCAMPlusPlus, case: str | os.PathLike, class_index: int = 1,
                 crop_size: int = 64, slice_divisor: float = 3.0, batch_size: int = 64,
                 meta_dir: str | os.PathLike | None = None
                 ) -> tuple[np.ndarray, np.ndarray, dict]:
    """Heat-map volume [X, Y, Z] (RAS voxel order, values in [0, 1]) of one case folder
    (``ct.nii.gz``, ``label.nii.gz``, ``meta.json``).

    Returns ``(heat, affine, info)``; ``info`` has the mean fractured-class probability per
    vertebra label. ``meta_dir``: folder of ``meta.json`` when not ``case``.
    """
    from zoo.datasets.medical.fracture_dataset import iter_vertebra_crops
    from zoo.datasets.medical.spine_io import load_spine_volume

    case = Path(case)
    vol = load_spine_volume(case / "label.nii.gz", case / "ct.nii.gz")
    labels = _case_labels(Path(meta_dir) if meta_dir is not None else case, vol.label)
    crops = list(iter_vertebra_crops(vol, labels, crop_size, slice_divisor))
    heat = np.zeros(vol.label.shape, np.float32)
    if not crops:
        return heat, vol.affine, dict(prob={})
    maps, probs = [], []
    device = next(cam.model.parameters()).device
    for i in range(0, len(crops), batch_size):
        batch = torch.from_numpy(np.stack([c[2][None] for c in crops[i:i + batch_size]]))
        batch = batch.float().to(device)
        maps.append(cam(batch, class_index).cpu().numpy())
        probs.append(_probs(cam, batch, class_index).numpy())
    maps_np, probs_np = np.concatenate(maps), np.concatenate(probs)
    # paste: per sagittal slice, each row goes to the nearest vertebra centre on that slice
    by_slice: dict[int, list[int]] = {}
    for k, (_, x, _, _, _) in enumerate(crops):
        by_slice.setdefault(x, []).append(k)
    n_rows, n_cols = vol.label.shape[2], vol.label.shape[1]  # sagittal: rows SI, cols AP
    half = crop_size // 2
    for x, ks in by_slice.items():
        sag = np.zeros((n_rows, n_cols), np.float32)
        centres = np.array([crops[k][4][0] for k in ks])
        owner = np.abs(np.arange(n_rows)[:, None] - centres[None]).argmin(1)
        for j, k in enumerate(ks):
            r0, c0 = crops[k][4][0] - half, crops[k][4][1] - half
            rs, re = max(r0, 0), min(r0 + crop_size, n_rows)
            cs, ce = max(c0, 0), min(c0 + crop_size, n_cols)
            rows = np.arange(rs, re)
            mine = rows[owner[rows] == j]
            if mine.size:
                sag[mine, cs:ce] = maps_np[k][mine - r0, cs - c0:ce - c0]
        heat[x] = sag[::-1].T  # inverse of spine_io.sagittal
    info = dict(prob={int(lab): float(probs_np[[k for k, c in enumerate(crops) if c[0] == lab]]
                                      .mean()) for lab in labels
                      if any(c[0] == lab for c in crops)})
    return heat, vol.affine, info


def _probs(cam: GradCAMPlusPlus, batch: torch.Tensor, class_index: int) -> torch.Tensor:
    """Softmax probability of ``class_index`` (the scores of the last Grad-CAM++ call are
    logits of one class only, so the model is run once more without gradients)."""
    with torch.no_grad():
        out = cam._scores(cam.model(batch))
    return out.softmax(1)[:, class_index].cpu()


def write_case_heatmap(cam: GradCAMPlusPlus, case: str | os.PathLike, class_index: int = 1,
                       crop_size: int = 64, slice_divisor: float = 3.0,
                       name: str = "heatmap.nii.gz", straighten: bool = False) -> dict:
    """Compute :func:`case_heatmap` and write it next to the case's CT (temporary file, then
    rename); ``straighten``: on and into ``<case>/straightened``. Returns the info dict with
    the written path."""
    import nibabel as nib

    from zoo.fileio import atomic_path

    if straighten:
        from zoo.datasets.medical.spine_straighten import ensure_straightened

        src = ensure_straightened(case)
        labels_from = Path(case)
    else:
        src = labels_from = Path(case)
    heat, affine, info = case_heatmap(cam, src, class_index, crop_size, slice_divisor,
                                      meta_dir=labels_from)
    out = src / name
    with atomic_path(out) as tmp:
        nib.save(nib.Nifti1Image(heat, affine), str(tmp))
    info["path"] = str(out)
    return info
