"""PNG panels of a detection result: input image, translated image (ModTr), detections."""
from __future__ import annotations

import os.path as osp
from typing import Sequence

import numpy as np
import torch
from mmengine.hooks import Hook

from zoo.registry import HOOKS


def _as_image(img: torch.Tensor) -> np.ndarray:
    arr = torch.as_tensor(img).detach().float().cpu().clamp(0, 1).numpy()
    arr = np.moveaxis(arr, 0, -1)
    return arr[..., 0] if arr.shape[-1] == 1 else arr


def draw_detection_panels(path: str, input_img: torch.Tensor, sample,
                          classes: Sequence[str] = (), score_thr: float = 0.3) -> None:
    """Write ``path`` (PNG): the input, the translated image when the sample has
    ``translated_img``, and the detector's input with predicted boxes (red, score above
    ``score_thr``, labelled) and ground-truth boxes (green, dashed)."""
    from matplotlib.patches import Rectangle

    from zoo.visualization import _figure, save_figure

    plt = _figure()
    panels = [("input", _as_image(input_img))]
    translated = sample.get("translated_img") if hasattr(sample, "get") else None
    if translated is not None:
        panels.append(("translated", _as_image(translated)))
    panels.append(("detections", panels[-1][1]))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4))
    for ax, (title, img) in zip(np.atleast_1d(axes), panels):
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1)
        ax.set_title(title)
        ax.axis("off")
    ax = np.atleast_1d(axes)[-1]
    if "gt_instances" in sample:
        for box in sample.gt_instances.bboxes.tolist():
            ax.add_patch(Rectangle((box[0], box[1]), box[2] - box[0], box[3] - box[1],
                                   fill=False, ec="lime", lw=1.2, ls="--"))
    if "pred_instances" in sample:
        pred = sample.pred_instances
        for box, score, label in zip(pred.bboxes.tolist(), pred.scores.tolist(),
                                     pred.labels.tolist()):
            if score < score_thr:
                continue
            ax.add_patch(Rectangle((box[0], box[1]), box[2] - box[0], box[3] - box[1],
                                   fill=False, ec="red", lw=1.2))
            name = classes[label - 1] if 0 < label <= len(classes) else str(label)
            ax.text(box[0], box[1], f"{name} {score:.2f}", color="white", fontsize=6,
                    va="bottom", bbox=dict(fc="red", ec="none", pad=0.5, alpha=0.7))
    save_figure(fig, path)


@HOOKS.register_module()
class DetVisualizationHook(Hook):
    """During testing, writes :func:`draw_detection_panels` PNGs of the first
    ``max_images`` test images to ``out_dir`` (``<img_id>.png``)."""

    def __init__(self, out_dir: str, max_images: int = 8, score_thr: float = 0.3):
        self.out_dir, self.max_images, self.score_thr = out_dir, max_images, score_thr
        self.written: list[str] = []

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not outputs or len(self.written) >= self.max_images:
            return
        classes = runner.test_dataloader.dataset.metainfo.get("classes", ())
        for img, sample in zip(data_batch["inputs"], outputs):
            if len(self.written) >= self.max_images:
                break
            name = sample.metainfo.get("img_id", len(self.written))
            path = osp.join(self.out_dir, f"{name}.png")
            draw_detection_panels(path, img, sample, classes, self.score_thr)
            self.written.append(path)
