"""Segmentation datasets: generated brick walls and a reader for image + mask folders."""
from __future__ import annotations

import os
import os.path as osp

from mmengine.dataset import BaseDataset

from zoo.registry import DATASETS

from .walls import LABEL_TYPES, STYLES, WALL_SPLITS, make_wall


@DATASETS.register_module()
class BrickWalls(BaseDataset):
    """Generated brick walls for mortar segmentation (TopoMortar-style, see ``walls.py``).

    Args:
        split: ``'train'``, ``'val'``, ``'test'`` (in-distribution), ``'test_ood_colour'`` or
            ``'test_ood_texture'``.
        num_samples: images in the split (default 40 / 10 / 20 / 20 / 20).
        size: image side in pixels.
        label_type: ``'accurate'``, ``'noisy'`` or ``'pseudo'`` (train and val only; test
            splits always carry accurate labels).
        seed: seed of the whole data set; every image is a pure function of
            ``(seed, split, index)``.
    Samples: ``img`` float32 [H, W, 3] in [0, 1], ``gt_seg`` uint8 [H, W] (1 = mortar),
    ``img_id``, ``sample_idx``.
    """

    METAINFO = dict(classes=("background", "mortar"))

    def __init__(self, split: str = "train", num_samples: int | None = None, size: int = 128,
                 label_type: str = "accurate", seed: int = 0, pipeline: list | None = None,
                 **kwargs):
        if split not in WALL_SPLITS:
            raise ValueError(f"BrickWalls split must be one of {sorted(WALL_SPLITS)}, got "
                             f"{split!r}")
        if label_type not in LABEL_TYPES:
            raise ValueError(f"BrickWalls label_type must be one of {LABEL_TYPES}, got "
                             f"{label_type!r}")
        if split.startswith("test") and label_type != "accurate":
            raise ValueError(f"BrickWalls {split!r} has accurate labels only, got "
                             f"label_type={label_type!r}")
        self.split, self.size, self.label_type, self.seed = split, size, label_type, seed
        self.style, default_n, self.stream = WALL_SPLITS[split]
        assert self.style in STYLES
        self.num_samples = default_n if num_samples is None else int(num_samples)
        kwargs.setdefault("serialize_data", False)
        super().__init__(pipeline=pipeline or [dict(type="PackSegInputs")], **kwargs)

    def load_data_list(self) -> list[dict]:
        data = []
        for i in range(self.num_samples):
            wall = make_wall((self.seed, self.stream, i), self.size, self.style, self.label_type)
            wall.pop("gt_seg_accurate", None)
            data.append(dict(wall, img_id=f"{self.split}_{i:03d}", sample_idx=i))
        return data


IMG_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


@DATASETS.register_module()
class ImageMaskFolder(BaseDataset):
    """Pairs of images and label masks from two folders, matched by file stem.

    ``data_root/img_dir/NAME.<ext>`` goes with ``data_root/mask_dir/NAME<mask_suffix>``.
    The pipeline should start with ``LoadImageMask``. Samples: ``img_path``, ``seg_path``,
    ``img_id`` (the stem), ``sample_idx``.
    """

    METAINFO = dict(classes=("background", "foreground"))

    def __init__(self, data_root: str, img_dir: str = "images", mask_dir: str = "masks",
                 mask_suffix: str = ".png", pipeline: list | None = None, **kwargs):
        self.img_dir, self.mask_dir, self.mask_suffix = img_dir, mask_dir, mask_suffix
        kwargs.setdefault("serialize_data", False)
        super().__init__(data_root=data_root,
                         pipeline=pipeline or [dict(type="LoadImageMask"),
                                               dict(type="PackSegInputs")], **kwargs)

    def load_data_list(self) -> list[dict]:
        img_root = osp.join(self.data_root, self.img_dir)
        mask_root = osp.join(self.data_root, self.mask_dir)
        for folder in (img_root, mask_root):
            if not osp.isdir(folder):
                raise FileNotFoundError(f"ImageMaskFolder: folder {folder} does not exist")
        names = sorted(f for f in os.listdir(img_root)
                       if f.lower().endswith(IMG_EXTENSIONS) and not f.startswith("."))
        if not names:
            raise FileNotFoundError(f"ImageMaskFolder: no images ({', '.join(IMG_EXTENSIONS)}) "
                                    f"in {img_root}")
        data = []
        for i, name in enumerate(names):
            stem = osp.splitext(name)[0]
            seg = osp.join(mask_root, stem + self.mask_suffix)
            if not osp.isfile(seg):
                raise FileNotFoundError(f"ImageMaskFolder: image {osp.join(img_root, name)} has "
                                        f"no mask {seg}")
            data.append(dict(img_path=osp.join(img_root, name), seg_path=seg, img_id=stem,
                             sample_idx=i))
        return data
