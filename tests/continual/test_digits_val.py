"""The digits validation protocol: held-out training folds, disjoint from the test split."""
import numpy as np
from mmengine.registry import init_default_scope

import zoo.continual  # noqa: F401
from zoo.continual.dataset import SampleFilter
from zoo.registry import DATASETS

init_default_scope("zoo")


def images(dataset):
    if hasattr(dataset, "full_init"):
        dataset.full_init()
    return [dataset.get_data_info(i)["img"].tobytes() for i in range(len(dataset))]


def test_validation_fold_is_stratified_and_disjoint_from_training_folds_and_test():
    train = SampleFilter(dict(type="Digits", split="train"), "fold", [1, 2, 3, 4])
    val = SampleFilter(dict(type="Digits", split="train"), "fold", [0])
    test = DATASETS.build(dict(type="Digits", split="test"))
    a, b, t = set(images(train)), set(images(val)), set(images(test))
    assert len(a) + len(b) == 1347 and not (a & b) and not (a & t) and not (b & t)
    counts = np.bincount([val.get_data_info(i)["label"] for i in range(len(val))])
    assert counts.min() >= 26 and counts.max() <= 28  # a fifth of each class (133-140)
    # the folds do not move the test split
    assert images(DATASETS.build(dict(type="Digits", split="test", num_folds=3))) == \
        images(test)
    assert {test.get_data_info(i)["fold"] for i in range(len(test))} == {-1}


def test_data_info_is_mmengines_copy_without_deepcopy():
    import copy

    from mmengine.dataset import BaseDataset

    ds = DATASETS.build(dict(type="Digits", split="train"))
    for idx in (0, 7, -1):
        fast, reference = ds.get_data_info(idx), BaseDataset.get_data_info(ds, idx)
        assert fast.keys() == reference.keys() and fast["sample_idx"] == reference["sample_idx"]
        assert all(np.array_equal(fast[k], reference[k]) for k in fast)
    stored = copy.deepcopy(ds.data_list[3]["img"])
    info = ds.get_data_info(3)
    info["img"] += 1  # a transform that edits in place must not reach the stored record
    info["label"] = -1
    assert np.array_equal(ds.data_list[3]["img"], stored) and ds.data_list[3]["label"] >= 0
