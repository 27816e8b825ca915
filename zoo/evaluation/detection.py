"""COCO detection metric (pycocotools): mAP over IoU 0.50:0.95, mAP@50 and mAP@75."""
from __future__ import annotations

import contextlib
import io
from typing import Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from zoo.registry import METRICS


def coco_map(gts: Sequence[dict], preds: Sequence[dict], num_classes: int | None = None
             ) -> dict[str, float]:
    """COCO box AP (in percent) of ``preds`` against ``gts``.

    Each element of ``gts`` / ``preds`` is one image: ``bboxes`` [N, 4] x1y1x2y2 (pixels),
    ``labels`` [N] (category ids >= 1); predictions also ``scores`` [N]; ground truths also
    ``height``, ``width``. Returns ``mAP`` (IoU 0.50:0.95), ``mAP_50``, ``mAP_75``.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, anns, dets = [], [], []
    labels_seen: set[int] = set()
    for i, (gt, pred) in enumerate(zip(gts, preds)):
        images.append(dict(id=i, height=int(gt["height"]), width=int(gt["width"])))
        for box, label in zip(np.asarray(gt["bboxes"]).reshape(-1, 4), gt["labels"]):
            x1, y1, x2, y2 = (float(v) for v in box)
            anns.append(dict(id=len(anns) + 1, image_id=i, category_id=int(label),
                             bbox=[x1, y1, x2 - x1, y2 - y1], area=(x2 - x1) * (y2 - y1),
                             iscrowd=0))
            labels_seen.add(int(label))
        for box, label, score in zip(np.asarray(pred["bboxes"]).reshape(-1, 4), pred["labels"],
                                     pred["scores"]):
            x1, y1, x2, y2 = (float(v) for v in box)
            dets.append(dict(image_id=i, category_id=int(label), score=float(score),
                             bbox=[x1, y1, x2 - x1, y2 - y1]))
    n_cls = num_classes or max(labels_seen | {int(d["category_id"]) for d in dets} | {1})
    if not anns:
        raise ValueError("COCO mAP needs at least one ground-truth box")
    dets = [d for d in dets if 1 <= d["category_id"] <= n_cls]
    if not dets:
        return {"mAP": 0.0, "mAP_50": 0.0, "mAP_75": 0.0}
    with contextlib.redirect_stdout(io.StringIO()):
        gt_api = COCO()
        gt_api.dataset = dict(images=images, annotations=anns,
                              categories=[dict(id=c) for c in range(1, n_cls + 1)])
        gt_api.createIndex()
        dt_api = gt_api.loadRes(dets)
        ev = COCOeval(gt_api, dt_api, iouType="bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    stats = [max(float(s), 0.0) * 100 for s in ev.stats[:3]]  # -1 (no gt) counts as 0
    return {"mAP": stats[0], "mAP_50": stats[1], "mAP_75": stats[2]}


@METRICS.register_module()
class CocoDetMetric(BaseMetric):
    """COCO box mAP (0.50:0.95), mAP@50 and mAP@75 in percent (pycocotools) of
    ``DetDataSample`` predictions (``pred_instances``) against ``gt_instances``.

    Args:
        num_classes: object classes (category ids 1..K); by default the largest id seen.
    """

    default_prefix = ""

    def __init__(self, num_classes: int | None = None, collect_device: str = "cpu",
                 prefix: str | None = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.num_classes = num_classes

    def process(self, data_batch, data_samples: Sequence) -> None:
        inputs = data_batch.get("inputs") if isinstance(data_batch, dict) else None
        for i, sample in enumerate(data_samples):
            get = sample.get if isinstance(sample, dict) else (lambda k, s=sample: s.get(k))
            gt, pred = get("gt_instances"), get("pred_instances")
            if gt is None or pred is None:
                raise KeyError("CocoDetMetric: data samples need gt_instances and "
                               "pred_instances (a detection model's 'predict' output)")
            shape = get("img_shape")
            if shape is None and inputs is not None:
                shape = tuple(inputs[i].shape[-2:])
            gt_get = gt.get if isinstance(gt, dict) else (lambda k, g=gt: getattr(g, k))
            pr_get = pred.get if isinstance(pred, dict) else (lambda k, p=pred: getattr(p, k))

            def arr(x):
                return torch.as_tensor(x).detach().cpu().numpy()

            self.results.append(dict(
                gt=dict(bboxes=arr(gt_get("bboxes")), labels=arr(gt_get("labels")),
                        height=shape[0], width=shape[1]),
                pred=dict(bboxes=arr(pr_get("bboxes")), labels=arr(pr_get("labels")),
                          scores=arr(pr_get("scores")))))

    def compute_metrics(self, results: list) -> dict:
        return coco_map([r["gt"] for r in results], [r["pred"] for r in results],
                        self.num_classes)
