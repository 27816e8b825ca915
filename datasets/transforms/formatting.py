"""Packing of image samples into model inputs."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from zoo.registry import TRANSFORMS
from zoo.structures import ClsDataSample


@TRANSFORMS.register_module()
class PackClsInputs:
    """``img`` ([H, W] or [H, W, C] array) -> ``inputs`` float tensor [C, H, W];
    ``label`` -> ``data_samples.gt_label``; ``meta_keys`` copied to the metainfo."""

    def __init__(self, meta_keys: Sequence[str] = ("sample_idx",)):
        self.meta_keys = tuple(meta_keys)

    def __call__(self, results: dict) -> dict:
        img = np.asarray(results["img"], dtype=np.float32)
        img = img[None] if img.ndim == 2 else img.transpose(2, 0, 1)
        sample = ClsDataSample(metainfo={k: results[k] for k in self.meta_keys if k in results})
        if "label" in results:
            sample.set_gt_label(int(results["label"]))
        return {"inputs": torch.from_numpy(np.ascontiguousarray(img)), "data_samples": sample}
