"""COCO mAP on hand-computed cases."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from zoo.datasets.detection import DetDataSample

from zoo.evaluation.detection import CocoDetMetric, coco_map


def _gt(boxes, labels):
    return dict(bboxes=np.array(boxes, float), labels=np.array(labels), height=50, width=50)


def _pred(boxes, labels, scores):
    return dict(bboxes=np.array(boxes, float), labels=np.array(labels), scores=np.array(scores))


def test_perfect_and_wrong_class():
    gts = [_gt([[0, 0, 10, 10], [20, 20, 40, 30]], [1, 2])]
    assert coco_map(gts, [_pred([[0, 0, 10, 10], [20, 20, 40, 30]], [1, 2], [0.9, 0.8])]
                    )["mAP"] == pytest.approx(100.0)
    assert coco_map(gts, [_pred([[0, 0, 10, 10], [20, 20, 40, 30]], [2, 1], [0.9, 0.8])]
                    )["mAP"] == pytest.approx(0.0)


def test_iou_thresholds_hand_computed():
    # IoU 0.62: matched at thresholds 0.50, 0.55, 0.60 of the ten -> AP 3/10; AP50 1, AP75 0.
    gts = [_gt([[0, 0, 10, 10]], [1])]
    m = coco_map(gts, [_pred([[0, 0, 10, 6.2]], [1], [0.9])])
    assert m["mAP"] == pytest.approx(30.0, abs=1e-6)
    assert m["mAP_50"] == pytest.approx(100.0) and m["mAP_75"] == pytest.approx(0.0)


def test_ranking_matters():
    # One gt per image in two images; the false positive outranks one true positive.
    gts = [_gt([[0, 0, 10, 10]], [1]), _gt([[0, 0, 10, 10]], [1])]
    preds = [_pred([[0, 0, 10, 10], [30, 30, 40, 40]], [1, 1], [0.9, 0.8]),
             _pred([[0, 0, 10, 10]], [1], [0.7])]
    # precision at recall 0.5 is 1, at recall 1 it is 2/3 -> 101-point AP = (51 + 50*2/3)/101
    assert coco_map(gts, preds)["mAP_50"] == pytest.approx(100 * (51 + 50 * 2 / 3) / 101,
                                                           abs=1e-4)


def test_metric_reads_data_samples():
    sample = DetDataSample(metainfo=dict(img_shape=(50, 50)))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[0.0, 0, 10, 10]]),
                                       labels=torch.tensor([1]))
    sample.pred_instances = InstanceData(bboxes=torch.tensor([[0.0, 0, 10, 10]]),
                                         labels=torch.tensor([1]), scores=torch.tensor([0.5]))
    metric = CocoDetMetric(num_classes=1)
    metric.process({}, [sample.to_dict()])
    assert metric.compute_metrics(metric.results)["mAP"] == pytest.approx(100.0)
    with pytest.raises(KeyError, match="pred_instances"):
        CocoDetMetric().process({}, [dict(gt_instances=dict())])
