"""Data sample of one segmented image (2-D or 3-D)."""
from __future__ import annotations

from mmengine.structures import BaseDataElement


class SegDataSample(BaseDataElement):
    """Label maps of one image: ``gt_sem_seg`` (long [H, W] or [D, H, W]), optional
    ``gt_skel`` (tubed skeleton, class index on the tube, 0 elsewhere), ``pred_sem_seg``
    (long, same shape) and ``seg_probs`` (float [C, ...] class probabilities); metainfo such
    as ``img_id``."""
