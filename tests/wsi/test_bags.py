"""Bag data set over feature files: CSV labels, splits, tile labels, bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from zoo.datasets.wsi.bags import WSIBagDataset


def test_bags_labels_and_tile_labels(cohort, cohort_features):
    folder, slides = cohort
    ds = WSIBagDataset(str(cohort_features), str(folder / "labels.csv"),
                       annotation_dir=str(folder / "annotations"))
    assert len(ds) == 6 and ds.metainfo["classes"] == ("0", "1")
    for item, truth in zip(ds, slides):
        sample = item["data_samples"]
        assert int(sample.gt_label) == truth.label
        tl = sample.tile_labels
        assert tl.shape == (item["inputs"].shape[0],)
        if truth.label:
            assert 0 < int(tl.sum()) < len(tl)
            # tumour tiles lie inside the drawn tumour mask (checked at tile centres)
            c = (sample.coords[tl == 1] + 32) // truth.mask_downsample
            assert truth.tumour[c[:, 1], c[:, 0]].mean() > 0.8
        else:
            assert int(tl.sum()) == 0
    train = WSIBagDataset(str(cohort_features), str(folder / "labels.csv"), split="train")
    test = WSIBagDataset(str(cohort_features), str(folder / "labels.csv"), split="test")
    assert len(train) + len(test) == 6 and len(test) == 2


def test_bad_csv_and_missing_files(cohort, cohort_features, tmp_path):
    folder, _ = cohort
    csv = tmp_path / "labels.csv"
    csv.write_text("slide_id,label\nslide_000,0\nslide_999,1\n")
    with pytest.warns(UserWarning, match="slide_999"):
        ds = WSIBagDataset(str(cohort_features), str(csv))
    assert len(ds) == 1
    with pytest.raises(FileNotFoundError, match="slide_999"):
        WSIBagDataset(str(cohort_features), str(csv), missing="error")
    csv.write_text("slide_id,diagnosis\nslide_000,0\n")
    with pytest.raises(KeyError, match="slide_id,label"):
        WSIBagDataset(str(cohort_features), str(csv))
    csv.write_text("slide_id,label\nslide_000,normal\nslide_001,tumour\n")
    ds = WSIBagDataset(str(cohort_features), str(csv), classes=("normal", "tumour"))
    assert [int(d["data_samples"].gt_label) for d in ds] == [0, 1]
    csv.write_text("slide_id,label\nslide_000,benign\n")
    with pytest.raises(ValueError, match="benign"):
        WSIBagDataset(str(cohort_features), str(csv), classes=("normal", "tumour"))


def test_max_instances_subsamples_training_bags(cohort, cohort_features):
    folder, _ = cohort
    ds = WSIBagDataset(str(cohort_features), str(folder / "labels.csv"), max_instances=5,
                       annotation_dir=str(folder / "annotations"))
    item = ds[1]
    assert item["inputs"].shape[0] == 5 and item["data_samples"].tile_labels.shape == (5,)
    full = WSIBagDataset(str(cohort_features), str(folder / "labels.csv"), max_instances=5,
                         test_mode=True)
    assert full[1]["inputs"].shape[0] > 5
    assert isinstance(item["inputs"], torch.Tensor) and np.isfinite(item["inputs"].numpy()).all()
