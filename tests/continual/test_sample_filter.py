"""SampleFilter: a held-out validation split by a sample field (e.g. MSR subjects)."""
import pytest
from zoo.datasets.image import Digits

from zoo.continual import SampleFilter


def test_sample_filter_keeps_the_samples_whose_field_is_listed():
    full = Digits(split="train")
    kept = SampleFilter(full, key="label", values=[3, 5])
    labels = [kept.get_data_info(i)["label"] for i in range(len(kept))]
    assert set(labels) == {3, 5}
    assert len(kept) == sum(full.get_data_info(i)["label"] in (3, 5) for i in range(len(full)))
    # items run through the inner pipeline, in the order of the inner data set
    first = next(i for i in range(len(full)) if full.get_data_info(i)["label"] in (3, 5))
    assert int(kept[0]["data_samples"].gt_label) == full.get_data_info(first)["label"]
    assert kept.metainfo["classes"] == full.metainfo["classes"]
    with pytest.raises(KeyError, match="subject"):
        SampleFilter(full, key="subject", values=[1])
    with pytest.raises(ValueError, match="no sample"):
        SampleFilter(full, key="label", values=[42])
