"""A data preprocessor base that does not copy data samples already on the model's device."""
from __future__ import annotations

import torch
from mmengine.model import BaseDataPreprocessor
from mmengine.structures import BaseDataElement


def on_device(sample: BaseDataElement, device: torch.device) -> bool:
    """Whether every tensor of ``sample`` (nested data elements included) is on ``device``."""
    for value in sample.values():
        if isinstance(value, torch.Tensor) and value.device != device:
            return False
        if isinstance(value, BaseDataElement) and not on_device(value, device):
            return False
    return True


class DataPreprocessor(BaseDataPreprocessor):
    """mmengine's ``BaseDataPreprocessor`` whose ``cast_data`` returns a data sample as it is
    when its tensors are already on the model's device.

    mmengine's ``BaseDataElement.to`` builds a new sample and deep-copies its meta
    information even when nothing moves; on the CPU that was ~13 % of the profile of a
    split-digits continual run (one sample per image; docs/speed.md, "Continual loop vs
    Avalanche"). Samples that do move (CPU -> GPU) are copied as before.
    """

    def cast_data(self, data):
        if isinstance(data, BaseDataElement) and on_device(data, self.device):
            return data
        return super().cast_data(data)
