"""torchvision's Keypoint R-CNN (Mask R-CNN with a keypoint head, He et al., ICCV 2017) as a
zoo pose estimator: person boxes and COCO-17 keypoints, several persons per frame.

The architecture is built by torchvision without weights; the weights come through the zoo's
hub (``zoo://keypointrcnn_resnet50_fpn_coco``: torchvision's own URL, checked against the hash
prefix in its file name), so they are cached, verified and loaded with ``weights_only=True``.
"""
from __future__ import annotations

import numpy as np

from zoo.registry import POSE_ESTIMATORS

from .base import FramePoses, PoseEstimator, check_frame

DEFAULT_CHECKPOINT = "zoo://keypointrcnn_resnet50_fpn_coco"


def build_keypoint_rcnn(min_size: int = 800, max_size: int = 1333,
                        box_score_thresh: float = 0.05, num_proposals: int = 1000):
    """torchvision's ``keypointrcnn_resnet50_fpn`` with no weights (no download);
    ``num_proposals`` RPN boxes per image reach the box head (torchvision's default 1000)."""
    from torchvision.models.detection import keypointrcnn_resnet50_fpn

    return keypointrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=2,
                                     num_keypoints=17, min_size=min_size, max_size=max_size,
                                     box_score_thresh=box_score_thresh,
                                     rpn_pre_nms_top_n_test=num_proposals,
                                     rpn_post_nms_top_n_test=num_proposals)


@POSE_ESTIMATORS.register_module(name="keypoint_rcnn")
class KeypointRCNNPose(PoseEstimator):
    """Keypoint R-CNN R50-FPN (torchvision ``KeypointRCNN_ResNet50_FPN_Weights.COCO_V1``).

    Args:
        checkpoint: ``zoo://NAME``, an index name, a URL or a file (anything
            :func:`zoo.hub.load_pretrained` takes).
        sha256: expected hash when ``checkpoint`` is a URL or file.
        device: torch device.
        person_thr: persons whose box score is below are dropped.
        min_size / max_size: torchvision's resize of the input (shorter / longer side).
        max_detections: persons kept per frame before ``person_thr`` (the keypoint head runs
            on each, so this bounds the time per frame).
        num_proposals: RPN proposals per frame (torchvision's 1000; fewer is faster).
    """

    layout = "coco17"

    def __init__(self, checkpoint: str = DEFAULT_CHECKPOINT, sha256: str | None = None,
                 device: str = "cpu", person_thr: float = 0.5, min_size: int = 800,
                 max_size: int = 1333, max_detections: int = 20,
                 num_proposals: int = 1000):
        import torch

        from zoo.hub import load_pretrained

        self.device = torch.device(device)
        self.person_thr = person_thr
        self.model = build_keypoint_rcnn(min_size, max_size, num_proposals=num_proposals)
        self.model.roi_heads.detections_per_img = max_detections
        state = load_pretrained(checkpoint, sha256=sha256, convert=False)
        self.model.load_state_dict(state, strict=True)
        self.model.eval().to(self.device)

    def __call__(self, frame: np.ndarray) -> FramePoses:
        import torch

        image = check_frame(frame)
        tensor = torch.from_numpy(image).permute(2, 0, 1).float().div(255).to(self.device)
        with torch.inference_mode():
            out = self.model([tensor])[0]
        keep = (out["labels"] == 1) & (out["scores"] >= self.person_thr)
        if not bool(keep.any()):
            return FramePoses.empty(17)
        xy = out["keypoints"][keep][..., :2]
        # keypoints_scores are heatmap logits; the sigmoid maps them to (0, 1) monotonically
        score = out["keypoints_scores"][keep].sigmoid()
        kp = torch.cat([xy, score[..., None]], -1).cpu().numpy().astype(np.float32)
        return FramePoses(kp, out["boxes"][keep].cpu().numpy().astype(np.float32),
                          out["scores"][keep].cpu().numpy().astype(np.float32))
