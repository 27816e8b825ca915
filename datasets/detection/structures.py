"""Data sample of one image for object detection."""
from __future__ import annotations

import torch
from mmengine.structures import BaseDataElement, InstanceData


class DetDataSample(BaseDataElement):
    """Boxes of one image.

    Fields: ``gt_instances`` (``InstanceData`` with ``bboxes`` float [N, 4] in pixel ``x1, y1,
    x2, y2`` and ``labels`` long [N], category ids starting at 1 as in COCO),
    ``pred_instances`` (``bboxes``, ``scores``, ``labels``), optionally ``translated_img``
    (float [3, H, W], what a translator fed to the detector); metainfo ``img_id`` (int),
    ``img_path``, ``img_shape`` (H, W).
    """


def make_instances(bboxes, labels) -> InstanceData:
    """``InstanceData`` with float32 ``bboxes`` [N, 4] and int64 ``labels`` [N]."""
    inst = InstanceData()
    inst.bboxes = torch.as_tensor(bboxes, dtype=torch.float32).reshape(-1, 4)
    inst.labels = torch.as_tensor(labels, dtype=torch.int64).reshape(-1)
    return inst
