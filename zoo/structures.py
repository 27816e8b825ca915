"""Data samples passed between datasets, models and metrics."""
from __future__ import annotations

from typing import Sequence

import torch
from mmengine.structures import BaseDataElement


class ClsDataSample(BaseDataElement):
    """Ground truth and prediction of one classified sample.

    Fields: ``gt_label`` (long tensor, shape [1]), ``pred_score`` (float tensor [K],
    probabilities), ``pred_label`` (long tensor [1]); metainfo such as ``frame_dir``.
    """

    def set_gt_label(self, label: int | torch.Tensor) -> "ClsDataSample":
        self.gt_label = torch.as_tensor(label, dtype=torch.long).reshape(1)
        return self

    def set_pred_score(self, score: torch.Tensor) -> "ClsDataSample":
        self.pred_score = score
        self.pred_label = score.argmax(-1, keepdim=True)
        return self


def gather_labels(data_samples: Sequence[ClsDataSample], device) -> torch.Tensor:
    """The ``gt_label`` of every sample as one long tensor ``[N]`` on ``device``."""
    if not data_samples:
        raise ValueError("mode='loss' needs data_samples with gt_label")
    return torch.cat([s.gt_label for s in data_samples]).to(device)
