"""zoo.engine.data_preprocessor: samples already on the device are not rebuilt."""
import torch
from mmengine.structures import BaseDataElement
from zoo.models.classifiers import StackDataPreprocessor

from zoo.engine.data_preprocessor import DataPreprocessor, on_device
from zoo.structures import ClsDataSample


def sample(label: int) -> ClsDataSample:
    s = ClsDataSample(metainfo={"sample_idx": label})
    s.set_gt_label(label)
    return s


def test_samples_on_the_device_pass_through_and_others_move():
    pre = DataPreprocessor()
    samples = [sample(0), sample(1)]
    out = pre.cast_data({"inputs": [torch.zeros(2)], "data_samples": samples})
    assert all(a is b for a, b in zip(out["data_samples"], samples))
    nested = BaseDataElement(inner=BaseDataElement(x=torch.zeros(1, device="meta")))
    assert not on_device(nested, torch.device("cpu"))
    assert on_device(nested, torch.device("meta"))
    pre._device = torch.device("meta")  # a device the samples are not on: they are moved
    moved = pre.cast_data(samples)
    assert moved[0] is not samples[0]
    assert moved[0].gt_label.device.type == "meta" and samples[0].gt_label.device.type == "cpu"
    assert moved[0].metainfo == samples[0].metainfo


def test_model_preprocessors_use_it():
    batch = {"inputs": [torch.ones(3), torch.zeros(3)], "data_samples": [sample(0), sample(1)]}
    out = StackDataPreprocessor()(batch)
    assert out["inputs"].shape == (2, 3)
    assert out["data_samples"][1] is batch["data_samples"][1]
